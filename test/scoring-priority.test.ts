import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCORING_THREAD_NICE } from '../src/jobs/scoring-tasks.js';
import { type RunningService, startService, submitCsv, waitForStatus } from './support/service.js';
import { telcoCsv as telco } from './support/telco.js';

/** The nice value of one of this process's threads, from /proc. */
function nice(task: string): number {
  const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

describe.runIf(process.platform === 'linux')('scoring next to the API in one process', () => {
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
    expect(nice(String(process.pid))).toBe(0);
    expect(readdirSync('/proc/self/task').map(nice)).toContain(SCORING_THREAD_NICE);
  });
});
