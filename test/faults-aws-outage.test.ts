import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFaultHarness } from './support/fault-harness.js';
import { stopGracefully } from './support/fault-processes.js';
import { checkInvariants, describeReport } from './support/invariants.js';
import {
  authorised,
  postPrediction,
  startWorkerProcess,
  submitCsv,
  upload,
  waitForStatus,
} from './support/service.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { telcoCsv as telco } from './support/telco.js';

const DURING_OUTAGE = 3;

const harness = useFaultHarness();
const { track } = harness;
let proxy: TcpProxy;

// Registered after the harness's hooks: the proxy starts once fauxqs runs (and stops first).
beforeAll(async () => {
  proxy = await startTcpProxy({
    host: '127.0.0.1',
    port: Number(new URL(harness.aws.endpoint).port),
  });
});
afterAll(async () => {
  await proxy?.close();
});

async function createPrediction(url: string, token: string, uploadId: string): Promise<string> {
  const created = await postPrediction(url, token, uploadId);
  expect(created.status).toBe(202);
  return ((await created.json()) as { id: string }).id;
}

describe('SQS and S3 unreachable', () => {
  it('keeps predictions queued in the outbox, raises the backlog alarm, and completes them all once back', async () => {
    const setup = await harness.setup('scale-out', {
      env: {
        AWS_ENDPOINT_URL: `http://127.0.0.1:${proxy.port}`,
        ALARM_OUTBOX_PENDING: String(DURING_OUTAGE - 1),
      },
    });
    const { api } = setup;
    const token = await api.token('alice');
    const worker = track(startWorkerProcess(setup.env));
    const first = await submitCsv(api, token, telco);
    await waitForStatus(api.url, token, first.predictionId, ['completed'], 30_000);

    await proxy.outage();
    const outageStarted = Date.now();
    // S3 is down: the upload fails as a whole and stores nothing (the invariants check no orphan).
    expect((await upload(api.url, token, telco)).status).toBeGreaterThanOrEqual(500);
    const queued: string[] = [];
    for (let i = 0; i < DURING_OUTAGE; i++)
      queued.push(await createPrediction(api.url, token, first.uploadId));
    for (;;) {
      const snapshot = await api.app.monitor.observe();
      const alarm = snapshot?.alarms.find((a) => a.name === 'outbox_backlog');
      if (snapshot && snapshot.outboxPending >= DURING_OUTAGE && alarm?.active) break;
      if (Date.now() - outageStarted > 20_000) throw new Error('the outbox backlog never showed');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^churnline_outbox_pending ${DURING_OUTAGE}$`, 'm'));
    for (const id of queued) {
      const body = (await (
        await fetch(`${api.url}/v1/predictions/${id}`, authorised(token))
      ).json()) as { status: string };
      expect(body.status).toBe('queued');
    }
    // Five seconds down: the relay and the worker's receives back off meanwhile.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, 5000 - (Date.now() - outageStarted))),
    );
    await proxy.restore();

    const report = await checkInvariants({ ...setup.targets, timeoutMs: 60_000 });
    expect(await stopGracefully(worker)).toEqual({ code: 0, signal: null });
    expect(report).toMatchObject({
      completed: 1 + DURING_OUTAGE,
      failed: 0,
      results: 1 + DURING_OUTAGE,
    });
    const after = await api.app.monitor.observe();
    expect(after?.alarms.find((a) => a.name === 'outbox_backlog')?.active).toBe(false);
    console.log(`SQS+S3 outage 5 s (scale-out): ${describeReport(report)}`);
  }, 120_000);
});
