import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueSettings, ReceivedMessage } from '../queue/port.js';
import { SqliteJobQueue } from '../queue/sqlite.js';
import { type JobHandler, JobWorker } from './worker.js';

const log = pino({ level: 'silent' });
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function queue(settings: Partial<QueueSettings> = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'churnline-worker-'));
  const q = new SqliteJobQueue({
    file: path.join(dir, 'q.db'),
    settings: { receiveWaitTimeSeconds: 1, ...settings },
    pollIntervalMs: 10,
  });
  cleanups.push(
    () => rmSync(dir, { recursive: true, force: true }),
    () => q.close(),
  );
  return q;
}

function worker(q: SqliteJobQueue, handler: JobHandler, concurrency = 2, retryBaseSeconds = 1) {
  const w = new JobWorker({
    queue: q,
    handler,
    log,
    concurrency,
    waitSeconds: 1,
    retryBaseSeconds,
  });
  w.start();
  cleanups.push(() => w.stop(1000).then(() => undefined));
  return w;
}

const until = async (check: () => boolean | Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('JobWorker', () => {
  it('runs jobs concurrently and acknowledges them', async () => {
    const q = queue();
    let running = 0;
    let peak = 0;
    const done: string[] = [];
    worker(
      q,
      async (m) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 50));
        running--;
        done.push(m.body);
        return { kind: 'ack' };
      },
      3,
    );
    await q.sendBatch(Array.from({ length: 9 }, (_, i) => ({ id: `m${i}`, body: `job-${i}` })));
    await until(() => done.length === 9);
    expect(peak).toBe(3);
    expect(await q.stats()).toMatchObject({ visible: 0, inFlight: 0 });
  });

  it('keeps the lease with a heartbeat while a job outlives the visibility timeout', async () => {
    const q = queue({ visibilityTimeoutSeconds: 3 });
    const deliveries: number[] = [];
    worker(q, async (m) => {
      deliveries.push(m.receiveCount);
      await new Promise((r) => setTimeout(r, 4500));
      return { kind: 'ack' };
    });
    await q.send({ body: 'long job' });
    await until(async () => (await q.stats()).inFlight === 0 && deliveries.length > 0, 15_000);
    expect(deliveries).toEqual([1]);
  });

  it('retries a transient failure after a back-off and says which attempt is the last', async () => {
    const q = queue({ maxReceiveCount: 3 });
    const attempts: Array<{ count: number; last: boolean; at: number }> = [];
    worker(q, async (m: ReceivedMessage, ctx) => {
      attempts.push({ count: m.receiveCount, last: ctx.isLastAttempt, at: Date.now() });
      if (m.receiveCount < 3) throw new Error('storage timed out');
      return { kind: 'ack' };
    });
    await q.send({ body: 'flaky' });
    await until(() => attempts.length === 3, 15_000);
    expect(attempts.map((a) => [a.count, a.last])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    // Back-off: 1 s after the first failure, 2 s after the second.
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(900);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(1900);
    await until(async () => (await q.stats()).inFlight === 0);
  });

  it('dead-letters what the handler rejects, with its reason', async () => {
    const q = queue();
    worker(q, async () => ({ kind: 'dead-letter', reason: 'message signature does not match' }));
    await q.send({ body: 'forged' });
    await until(async () => (await q.stats()).deadLetter.visible === 1);
    expect((await q.listDeadLetters())[0]?.reason).toBe('message signature does not match');
  });

  it('on stop, finishes running jobs within the deadline and receives nothing more', async () => {
    const q = queue();
    let finished = 0;
    const w = new JobWorker({
      queue: q,
      log,
      concurrency: 1,
      waitSeconds: 1,
      handler: async () => {
        await new Promise((r) => setTimeout(r, 300));
        finished++;
        return { kind: 'ack' };
      },
    });
    w.start();
    await q.sendBatch([
      { id: 'a', body: 'a' },
      { id: 'b', body: 'b' },
    ]);
    await until(() => w.activeJobs === 1);
    expect(await w.stop(5000)).toEqual({ finished: true, released: 0 });
    expect(finished).toBe(1);
    expect(await q.stats()).toMatchObject({ visible: 1, inFlight: 0 });
  });

  it('past the deadline, aborts running jobs and releases their messages at once', async () => {
    const q = queue();
    let aborted = false;
    const w = new JobWorker({
      queue: q,
      log,
      concurrency: 1,
      waitSeconds: 1,
      handler: (_m, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            resolve({ kind: 'retry', error: ctx.signal.reason });
          });
        }),
    });
    w.start();
    await q.send({ body: 'stuck' });
    await until(() => w.activeJobs === 1);
    expect(await w.stop(200)).toEqual({ finished: false, released: 1 });
    expect(aborted).toBe(true);
    const [again] = await q.receive({ waitSeconds: 0 });
    expect(again?.body).toBe('stuck');
  });
});
