import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openSqliteDatabase } from '../db/connect.js';
import { outboxBacklog } from '../db/outbox.js';
import { nowIso } from '../db/schema.js';
import { insertUpload } from '../db/uploads.js';
import { uploadKey } from '../ids.js';
import { QueueError } from '../queue/errors.js';
import type { JobQueue } from '../queue/port.js';
import { SqliteJobQueue } from '../queue/sqlite.js';
import { decodeJobMessage } from './message.js';
import { OutboxRelay } from './outbox-relay.js';
import { parseSigningKeys } from './signing-keys.js';
import { submitPrediction } from './submit.js';

const keys = parseSigningKeys(`t:${randomBytes(32).toString('base64')}`);
const log = pino({ level: 'silent' });
let dir: string;
let db: Db;
let queue: SqliteJobQueue;
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'churnline-relay-'));
  db = await openSqliteDatabase(path.join(dir, 'app.db'));
  queue = new SqliteJobQueue({
    file: path.join(dir, 'queue.db'),
    settings: { receiveWaitTimeSeconds: 0 },
  });
});
afterEach(async () => {
  await queue.close();
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function submit(count: number) {
  const upload = {
    id: randomUUID(),
    user_id: 'alice',
    filename: 'c.csv',
    object_key: '',
    bytes: 1,
    sha256: 'x',
    row_count: 1,
    created_at: nowIso(),
    deleted_at: null,
    state: 'stored' as const,
    splits: null,
  };
  upload.object_key = uploadKey('alice', upload.id);
  await insertUpload(db, upload);
  const ids: string[] = [];
  for (let i = 0; i < count; i++)
    ids.push(
      (await submitPrediction(db, keys, { userId: 'alice', upload, modelId: 'telco-v1' })).id,
    );
  return ids;
}

async function submitAs(userId: string) {
  const id = randomUUID();
  const upload = {
    id,
    user_id: userId,
    filename: 'c.csv',
    object_key: uploadKey(userId, id),
    bytes: 1,
    sha256: 'x',
    row_count: 1,
    created_at: nowIso(),
    deleted_at: null,
    state: 'stored' as const,
    splits: null,
  };
  await insertUpload(db, upload);
  return (await submitPrediction(db, keys, { userId, upload, modelId: 'telco-v1' })).id;
}

describe('outbox relay', () => {
  it("sends each job in its owner's group, so the queue shares the workers out by user", async () => {
    // 'alice' queues three jobs, then 'bob' one: bob's is the second one a worker gets.
    await submit(3);
    const bob = await submitAs('bob');
    await new OutboxRelay({ db, queue, log }).relayAll();
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const [message] = await queue.receive(); // held, not deleted: each counts as running
      const job = decodeJobMessage(message?.body ?? '', keys);
      order.push(job.kind === undefined || job.kind === 'score' ? job.userId : 'other');
      if (job.kind === undefined || job.kind === 'score') {
        if (job.userId === 'bob') expect(job.predictionId).toBe(bob);
      }
    }
    expect(order).toEqual(['alice', 'bob', 'alice', 'alice']);
  });

  it('sends jobs written before owners were stored in no group', async () => {
    await submit(1);
    await db.updateTable('outbox').set({ group_id: null }).execute();
    const sent: Array<string | undefined> = [];
    const recording: JobQueue = Object.create(queue, {
      sendBatch: {
        value: (entries: Parameters<JobQueue['sendBatch']>[0]) => {
          sent.push(...entries.map((entry) => entry.groupId));
          return queue.sendBatch(entries);
        },
      },
    });
    expect(await new OutboxRelay({ db, queue: recording, log }).relayAll()).toBe(1);
    expect(sent).toEqual([undefined]);
  });

  it('sends every committed job once and marks it sent', async () => {
    const ids = await submit(23);
    const relay = new OutboxRelay({ db, queue, log });
    expect(await relay.relayAll()).toBe(23);
    expect(await relay.relayAll()).toBe(0);
    const received: string[] = [];
    for (;;) {
      const batch = await queue.receive({ maxMessages: 10 });
      if (batch.length === 0) break;
      for (const message of batch) {
        const job = decodeJobMessage(message.body, keys);
        if (job.kind === undefined || job.kind === 'score') received.push(job.predictionId);
      }
    }
    expect(received.sort()).toEqual([...ids].sort());
    expect((await outboxBacklog(db)).pending).toBe(0);
  });

  it('keeps jobs in the outbox while the queue is unreachable and sends them when it is back', async () => {
    await submit(3);
    let reachable = false;
    const flaky: JobQueue = Object.create(queue, {
      sendBatch: {
        value: (entries: Parameters<JobQueue['sendBatch']>[0]) => {
          if (!reachable)
            return Promise.reject(new QueueError('NetworkingError', 'connect ECONNREFUSED', true));
          return queue.sendBatch(entries);
        },
      },
    });
    const relay = new OutboxRelay({ db, queue: flaky, log });
    await expect(relay.relayAll()).rejects.toThrow(/ECONNREFUSED/);
    expect((await outboxBacklog(db)).pending).toBe(3);
    expect((await queue.stats()).visible).toBe(0);
    reachable = true;
    expect(await relay.relayAll()).toBe(3);
    expect((await queue.stats()).visible).toBe(3);
  });
});
