/**
 * The blob store failing under the scoring thread, for a while or for good, and a worker stopped
 * with SIGTERM in the middle of a job, on the embedded and the scale-out setup. Storage errors are
 * injected into the thread's result puts after a few KiB have gone into the real store
 * (test/support/faults.ts), so the adapters' own clean-up of a failed write is what is tested.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAws, startLocalAws } from '../src/aws/test-support/local-aws.js';
import { startFaultWorker, stopGracefully } from './support/fault-processes.js';
import { type FaultSetup, SETUPS, startSetup } from './support/fault-setups.js';
import { checkInvariants, describeReport } from './support/invariants.js';
import { startWorkerProcess, submitCsv, waitForStatus } from './support/service.js';

const telco = readFileSync(
  fileURLToPath(new URL('../data/telco-customer-churn.csv', import.meta.url)),
  'utf8',
);
const [header, ...rows] = telco.trimEnd().split('\n');
/** Ten Telco files in one: long enough (70,430 rows) to be mid-job when a signal arrives. */
const bigCsv = `${header}\n${Array.from({ length: 10 }, () => rows.join('\n')).join('\n')}\n`;

let aws: LocalAws;
const savedEnv = { ...process.env };
const children: ChildProcess[] = [];
const setups: FaultSetup[] = [];

beforeAll(async () => {
  aws = await startLocalAws();
  process.env.AWS_ACCESS_KEY_ID = aws.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = aws.credentials.secretAccessKey;
});
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const setup of setups.splice(0)) await setup.stop();
});
afterAll(async () => {
  process.env = savedEnv;
  await aws?.stop();
});

function track<T extends ChildProcess>(child: T): T {
  children.push(child);
  return child;
}

describe.each(SETUPS)('storage faults and SIGTERM, %s setup', (setupName) => {
  it('retries result puts that fail (out of space, I/O) for a few seconds, then completes', async () => {
    const setup = await startSetup(setupName, { aws, maxReceiveCount: 6 });
    setups.push(setup);
    const token = await setup.api.token('alice');
    for (let i = 0; i < 2; i++) await submitCsv(setup.api, token, telco);
    const worker = track(
      startFaultWorker(setup.env, {
        FAULT_PUT_ERROR: setupName === 'embedded' ? 'no_space' : 'io',
        FAULT_PUT_FAIL_UNTIL: String(Date.now() + 4000),
      }),
    );
    const report = await checkInvariants({ ...setup.targets, timeoutMs: 60_000 });
    expect(await stopGracefully(worker)).toEqual({ code: 0, signal: null });
    expect(report).toMatchObject({ completed: 2, failed: 0, results: 2 });
    expect(Math.max(...report.attempts)).toBeGreaterThan(1);
    console.log(`transient put failures (${setupName}): ${describeReport(report)}`);
  }, 90_000);

  it('fails the prediction with a clear error when the store refuses the result for good', async () => {
    const setup = await startSetup(setupName, { aws });
    setups.push(setup);
    const token = await setup.api.token('alice');
    const { predictionId } = await submitCsv(setup.api, token, telco);
    const worker = track(startFaultWorker(setup.env, { FAULT_PUT_ERROR: 'permission_denied' }));
    const failed = await waitForStatus(setup.api.url, token, predictionId, ['failed', 'completed']);
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'storage_refused' },
    });
    const report = await checkInvariants({ ...setup.targets, timeoutMs: 20_000 });
    expect(await stopGracefully(worker)).toEqual({ code: 0, signal: null });
    expect(report).toMatchObject({ completed: 0, failed: 1, results: 0 });
    console.log(`permanent put failure (${setupName}): ${describeReport(report)}`);
  }, 60_000);

  it('removes the stored results when the store refuses the rows index for good after them', async () => {
    const setup = await startSetup(setupName, { aws });
    setups.push(setup);
    const token = await setup.api.token('alice');
    const { predictionId } = await submitCsv(setup.api, token, telco);
    const worker = track(
      startFaultWorker(setup.env, {
        FAULT_PUT_ERROR: 'permission_denied',
        FAULT_PUT_FAIL_KEY_SUFFIX: '.rows-index',
      }),
    );
    const failed = await waitForStatus(setup.api.url, token, predictionId, ['failed', 'completed']);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'storage_refused' } });
    // The invariants include "no result object for a failed prediction, no orphans".
    const report = await checkInvariants({ ...setup.targets, timeoutMs: 20_000 });
    expect(await stopGracefully(worker)).toEqual({ code: 0, signal: null });
    expect(report).toMatchObject({ completed: 0, failed: 1, results: 0 });
  }, 60_000);

  it('SIGTERM mid-job: the worker finishes the job within the deadline and exits 0', async () => {
    const setup = await startSetup(setupName, { aws, env: { SHUTDOWN_DEADLINE_S: '30' } });
    setups.push(setup);
    const token = await setup.api.token('alice');
    const { predictionId } = await submitCsv(setup.api, token, bigCsv);
    const worker = track(startWorkerProcess(setup.env));
    await waitForStatus(setup.api.url, token, predictionId, ['running'], 30_000);
    const signalled = Date.now();
    expect(await stopGracefully(worker, 30_000)).toEqual({ code: 0, signal: null });
    const drainMs = Date.now() - signalled;
    const report = await checkInvariants({ ...setup.targets });
    expect(report).toMatchObject({ completed: 1, results: 1, attempts: [1] });
    console.log(
      `SIGTERM drain (${setupName}): exit 0 after ${drainMs} ms; ${describeReport(report)}`,
    );
  }, 90_000);

  it('SIGTERM past the deadline: the job is released at once and another worker finishes it', async () => {
    // A visibility timeout far longer than the test: only the release can bring the job back.
    const setup = await startSetup(setupName, {
      aws,
      visibilityTimeoutSeconds: 120,
      env: { SHUTDOWN_DEADLINE_S: '0' },
    });
    setups.push(setup);
    const token = await setup.api.token('alice');
    const { predictionId } = await submitCsv(setup.api, token, bigCsv);
    const first = track(startWorkerProcess(setup.env));
    await waitForStatus(setup.api.url, token, predictionId, ['running'], 30_000);
    expect(await stopGracefully(first, 15_000)).toEqual({ code: 0, signal: null });
    expect(await waitForStatus(setup.api.url, token, predictionId, ['running'])).toMatchObject({
      status: 'running',
    });
    const second = track(startWorkerProcess(setup.env));
    const report = await checkInvariants({ ...setup.targets, timeoutMs: 60_000 });
    expect(await stopGracefully(second)).toEqual({ code: 0, signal: null });
    expect(report).toMatchObject({ completed: 1, results: 1, attempts: [2] });
    console.log(`SIGTERM past deadline (${setupName}): ${describeReport(report)}`);
  }, 120_000);
});
