import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useFaultHarness } from './support/fault-harness.js';
import { startFaultWorker, stopGracefully } from './support/fault-processes.js';
import { SETUPS } from './support/fault-setups.js';
import { injectedPutFailures } from './support/faults.js';
import { checkInvariants, describeReport } from './support/invariants.js';
import { startWorkerProcess, submitCsv, waitForStatus } from './support/service.js';
import { until } from './support/slow-upload.js';
import { telcoText as telco } from './support/telco.js';

const [header, ...rows] = telco.trimEnd().split('\n');
/** Ten Telco files in one: long enough (70,430 rows) to be mid-job when a signal arrives. */
const bigCsv = `${header}\n${Array.from({ length: 10 }, () => rows.join('\n')).join('\n')}\n`;
/** Result puts that fail before the store takes one; the message allows 6 receives. */
const PUT_FAILURES = 3;

const harness = useFaultHarness();
const { track } = harness;

describe.each(SETUPS)('storage faults and SIGTERM, %s setup', (setupName) => {
  it('retries result puts that fail (out of space, permission refused) a few times, then completes', async () => {
    const setup = await harness.setup(setupName, { maxReceiveCount: 6 });
    const token = await setup.api.token('alice');
    for (let i = 0; i < 2; i++) await submitCsv(setup.api, token, telco);
    // Counted, not timed: the first PUT_FAILURES puts fail whenever the worker gets to them.
    const failures = path.join(setup.api.dataDir, 'put-failures');
    const worker = track(
      startFaultWorker(setup.env, {
        // A full disk; on AWS, a permission refused while an IAM change or a rotated credential
        // propagates, which the operator fixes while the job waits (retried, not failed).
        FAULT_PUT_ERROR: setupName === 'embedded' ? 'no_space' : 'permission_denied',
        FAULT_PUT_FAIL_COUNT: String(PUT_FAILURES),
        FAULT_PUT_FAIL_STATE_DIR: failures,
      }),
    );
    const report = await checkInvariants({ ...setup.targets, timeoutMs: 60_000 });
    expect(await stopGracefully(worker)).toEqual({ code: 0, signal: null });
    expect(report).toMatchObject({ completed: 2, failed: 0, results: 2 });
    expect(await injectedPutFailures(failures)).toBe(PUT_FAILURES);
    // Each injected failure ends one attempt (more only if the machine is slow enough to lose a lease).
    expect(report.attempts.reduce((sum, n) => sum + n, 0)).toBeGreaterThanOrEqual(2 + PUT_FAILURES);
    expect(Math.max(...report.attempts)).toBeGreaterThan(1);
    console.log(`transient put failures (${setupName}): ${describeReport(report)}`);
  }, 90_000);

  it('fails the prediction with a clear error when the store refuses the result for good', async () => {
    const setup = await harness.setup(setupName);
    const token = await setup.api.token('alice');
    const { predictionId } = await submitCsv(setup.api, token, telco);
    const worker = track(startFaultWorker(setup.env, { FAULT_PUT_ERROR: 'too_large' }));
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
    const setup = await harness.setup(setupName);
    const token = await setup.api.token('alice');
    const { predictionId } = await submitCsv(setup.api, token, telco);
    const worker = track(
      startFaultWorker(setup.env, {
        FAULT_PUT_ERROR: 'too_large',
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
    const setup = await harness.setup(setupName, { env: { SHUTDOWN_DEADLINE_S: '30' } });
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
    const setup = await harness.setup(setupName, {
      visibilityTimeoutSeconds: 120,
      env: { SHUTDOWN_DEADLINE_S: '0' },
    });
    const token = await setup.api.token('alice');
    const { predictionId } = await submitCsv(setup.api, token, bigCsv);
    const first = track(startWorkerProcess(setup.env));
    await waitForStatus(setup.api.url, token, predictionId, ['running'], 30_000);
    expect(await stopGracefully(first, 15_000)).toEqual({ code: 0, signal: null });
    // Released, not left to its 120 s lease: visible again, in flight no more, before any other
    // worker runs (a short wait only for SQS's approximate counts to catch up).
    const { queue } = setup.targets;
    await until(
      'the stopped worker released the job',
      async () => {
        const stats = await queue.stats();
        return stats.visible === 1 && stats.inFlight === 0;
      },
      5_000,
    );
    expect(await queue.stats()).toMatchObject({ visible: 1, inFlight: 0, delayed: 0 });
    const second = track(startWorkerProcess(setup.env));
    const report = await checkInvariants({ ...setup.targets, timeoutMs: 60_000 });
    expect(await stopGracefully(second)).toEqual({ code: 0, signal: null });
    expect(report).toMatchObject({ completed: 1, results: 1, attempts: [2] });
    console.log(`SIGTERM past deadline (${setupName}): ${describeReport(report)}`);
  }, 120_000);
});
