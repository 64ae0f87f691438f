import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { resultKey, rowsIndexKey, uploadKey } from '../src/ids.js';
import { encodeJobMessage } from '../src/jobs/message.js';
import { parseSigningKeys } from '../src/jobs/signing-keys.js';
import {
  authorised,
  type RunningService,
  startService,
  startWorkerProcess,
  submitCsv,
  waitForStatus,
} from './support/service.js';
import { telcoText as telco } from './support/telco.js';

const [telcoHeader, ...telcoRows] = telco.trimEnd().split('\n');

const running: RunningService[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const service of running.splice(0)) await service.stop();
});

/** What one completed prediction leaves: its results and their rows index, nothing else. */
const resultObjects = (userId: string, predictionId: string) =>
  [resultKey(userId, predictionId), rowsIndexKey(userId, predictionId)].sort();

function startWorker(env: Record<string, string>): ChildProcess {
  const child = startWorkerProcess(env);
  children.push(child);
  return child;
}

describe('job safety', () => {
  it('dead-letters forged, replayed and foreign-owner messages and leaves the prediction untouched', async () => {
    const service = await startService();
    running.push(service);
    const token = await service.token('alice');
    const { uploadId, predictionId } = await submitCsv(
      service,
      token,
      `${telcoHeader}\n${telcoRows.slice(0, 50).join('\n')}\n`,
    );
    const before = await waitForStatus(service.url, token, predictionId, ['completed']);

    const keys = parseSigningKeys(service.env.JOB_SIGNING_KEYS as string);
    const job = {
      predictionId,
      userId: 'alice',
      uploadId,
      objectKey: uploadKey('alice', uploadId),
      modelId: 'telco-v1',
      publishedAt: new Date().toISOString(),
    };
    const otherKeys = parseSigningKeys(`test1:${Buffer.alloc(32, 7).toString('base64')}`);
    await service.app.queue.send({ body: encodeJobMessage(job, otherKeys) });
    await service.app.queue.send({
      body: encodeJobMessage(
        { ...job, publishedAt: new Date(Date.now() - 25 * 3600_000).toISOString() },
        keys,
      ),
    });
    await service.app.queue.send({
      body: encodeJobMessage(
        { ...job, userId: 'mallory', objectKey: uploadKey('mallory', uploadId) },
        keys,
      ),
    });

    const deadline = Date.now() + 10_000;
    while ((await service.app.queue.stats()).deadLetter.visible < 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const reasons = (await service.app.queue.listDeadLetters()).map((d) => d.reason);
    expect(reasons).toEqual([
      'message signature does not match',
      expect.stringMatching(/more than 24 h ago \(replay window\)/),
      "job's user is not the prediction's owner",
    ]);
    const after = await waitForStatus(service.url, token, predictionId, ['completed']);
    expect(after).toEqual(before);
    expect(await service.app.blobs.list('users/alice/results/')).toEqual(
      resultObjects('alice', predictionId),
    );
    expect(await service.app.blobs.list('users/mallory/')).toEqual([]);
  });

  it('loses nothing when a worker is killed mid-job: another finishes it with exactly one result', async () => {
    const env = { QUEUE_VISIBILITY_TIMEOUT_S: '2' };
    const api = await startService(env, ['api']);
    running.push(api);
    const token = await api.token('alice');
    const rows = Array.from({ length: 70 }, () => telcoRows.join('\n')).join('\n');
    const { predictionId } = await submitCsv(api, token, `${telcoHeader}\n${rows}\n`);

    const first = startWorker(api.env);
    await waitForStatus(api.url, token, predictionId, ['running', 'completed'], 60_000);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const midway = (await (
      await fetch(`${api.url}/v1/predictions/${predictionId}`, authorised(token))
    ).json()) as {
      status: string;
    };
    expect(midway.status).toBe('running');

    startWorker(api.env);
    const done = await waitForStatus(api.url, token, predictionId, ['completed', 'failed'], 90_000);
    expect(done).toMatchObject({
      status: 'completed',
      rowsScored: 70 * telcoRows.length,
      attempts: 2,
    });
    expect(await api.app.blobs.list('users/alice/results/')).toEqual(
      resultObjects('alice', predictionId),
    );
    // The row says completed before the message is deleted, and a delivery that lost its lease
    // meanwhile (a slow machine) comes back once more to be acknowledged as done: wait for that.
    let stats = await api.app.queue.stats();
    for (let waited = 0; stats.visible + stats.inFlight > 0 && waited < 20_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      stats = await api.app.queue.stats();
    }
    expect(stats).toMatchObject({ visible: 0, inFlight: 0, deadLetter: { visible: 0 } });
    expect(await api.app.blobs.list('users/alice/results/')).toEqual(
      resultObjects('alice', predictionId),
    );
  });
});
