import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningService, startService, submitCsv, waitForStatus } from './support/service.js';
import { telcoCsv } from './support/telco.js';

const running: RunningService[] = [];
afterEach(async () => {
  for (const service of running.splice(0)) await service.stop();
});

describe('signing keys that differ between the API and the worker', () => {
  it('fail the prediction as a configuration problem naming the key id, and raise the alarm, instead of leaving it queued', async () => {
    // One attempt: the first delivery is the last, so the test need not wait out retries.
    const api = await startService({ QUEUE_MAX_RECEIVE_COUNT: '1' }, ['api']);
    running.push(api);
    const worker = await startService(
      {
        ...api.env,
        JOB_SIGNING_KEYS: `other:${randomBytes(32).toString('base64')}`,
      },
      ['worker'],
      api.dataDir,
    );
    running.unshift(worker);
    const token = await api.token('alice');
    const { predictionId } = await submitCsv(api, token, telcoCsv);

    const failed = await waitForStatus(api.url, token, predictionId, ['failed', 'completed']);
    expect(failed).toMatchObject({
      status: 'failed',
      error: {
        code: 'configuration_problem',
        message:
          'Configuration problem: this job was signed with key id test1, which this worker does not have. Give every API and worker process the same JOB_SIGNING_KEYS.',
      },
    });
    const snapshot = await worker.app.monitor.observe();
    expect(snapshot?.alarms.find((a) => a.name === 'unknown_signing_key')).toMatchObject({
      active: true,
      message: expect.stringMatching(
        /^Jobs signed with key id test1 reach a worker that does not have that key id \(it holds other\)/,
      ),
    });
    const metrics = await worker.app.metrics.registry.metrics();
    expect(metrics).toContain('churnline_alarm_active{alarm="unknown_signing_key"} 1');
    expect(metrics).toMatch(
      /churnline_signing_key_info\{kid="other",fingerprint="[0-9a-f]{8}",signs="true"\} 1/,
    );
  });
});
