import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_NICE } from '../src/jobs/priority.js';
import {
  type RunningService,
  startService,
  startWorkerProcess,
  submitCsv,
  waitForStatus,
} from './support/service.js';
import { telcoCsv as telco } from './support/telco.js';

/** The nice value of one thread of a process, from /proc. */
function nice(pid: number | string, task: string): number {
  const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

const threadNices = (pid: number | string) =>
  readdirSync(`/proc/${pid}/task`).map((task) => nice(pid, task));

describe.runIf(process.platform === 'linux')('scoring as batch work beside the API', () => {
  let service: RunningService;
  beforeAll(async () => {
    service = await startService();
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('scores in threads of lower priority than the thread serving the API', async () => {
    const token = await service.token('alice');
    const { predictionId } = await submitCsv(service, token, telco);
    await waitForStatus(service.url, token, predictionId, ['completed']);
    expect(nice(process.pid, String(process.pid))).toBe(0);
    expect(threadNices(process.pid)).toContain(BATCH_NICE);
  });

  it('runs a worker-only process, main thread and every thread it starts, at that priority', async () => {
    const api = await startService({}, ['api']);
    const worker = startWorkerProcess(api.env);
    try {
      const token = await api.token('bob');
      const { predictionId } = await submitCsv(api, token, telco);
      await waitForStatus(api.url, token, predictionId, ['completed']);
      const pid = worker.pid as number;
      // Its scoring thread has started by now, after the process lowered itself.
      expect(threadNices(pid).length).toBeGreaterThan(2);
      expect(threadNices(pid).every((value) => value === BATCH_NICE)).toBe(true);
    } finally {
      worker.kill('SIGKILL');
      await api.stop();
    }
  });
});
