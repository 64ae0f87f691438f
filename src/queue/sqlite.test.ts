import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { describeJobQueueContract } from './queue.contract.js';
import { SqliteJobQueue } from './sqlite.js';

const dirs: string[] = [];
function tempFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'churnline-queue-'));
  dirs.push(dir);
  return path.join(dir, 'queue.db');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describeJobQueueContract('sqlite', async (settings) => {
  const file = tempFile();
  let offset = 0;
  const queue = new SqliteJobQueue({
    file,
    settings,
    pollIntervalMs: 20,
    now: () => Date.now() + offset,
  });
  return {
    queue,
    spec: { kind: 'sqlite', file, name: queue.name, settings, pollIntervalMs: 20 },
    advanceClock: (ms) => {
      offset += ms;
    },
    cleanup: () => queue.close(),
  };
});

describe('SqliteJobQueue', () => {
  it('uses WAL so readers and the writer do not block each other', async () => {
    const queue = new SqliteJobQueue({ file: tempFile() });
    const db = new Database(tempFile());
    const shared = new SqliteJobQueue({ file: db });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    await Promise.all([queue.close(), shared.close()]);
    db.close();
  });

  it('ends a waiting long poll when closed', async () => {
    const queue = new SqliteJobQueue({ file: tempFile() });
    const waiting = queue.receive({ waitSeconds: 20 });
    await queue.close();
    expect(await waiting).toEqual([]);
    await expect(queue.send({ body: 'x' })).rejects.toThrow(/closed/);
  });

  it('keeps separate queues in one file apart', async () => {
    const file = tempFile();
    const a = new SqliteJobQueue({ file, name: 'a', settings: { receiveWaitTimeSeconds: 0 } });
    const b = new SqliteJobQueue({ file, name: 'b', settings: { receiveWaitTimeSeconds: 0 } });
    await a.send({ body: 'for-a' });
    expect(await b.receive()).toEqual([]);
    expect((await a.receive()).map((m) => m.body)).toEqual(['for-a']);
    await Promise.all([a.close(), b.close()]);
  });

  it('wakes a receive waiting on a group at its cap as soon as one of its messages is deleted', async () => {
    const queue = new SqliteJobQueue({
      file: tempFile(),
      settings: { receiveWaitTimeSeconds: 0, maxInFlightPerGroup: 1 },
    });
    await queue.sendBatch(['a-0', 'a-1'].map((body, i) => ({ id: `m${i}`, body, groupId: 'a' })));
    const [held] = await queue.receive();
    const waiting = queue.receive({ waitSeconds: 20 });
    await queue.delete(held?.receiptHandle as string);
    // The delete woke the waiting receive before this line: it has taken a-1, nothing is left.
    expect(await queue.receive()).toEqual([]);
    expect((await waiting).map((m) => m.body)).toEqual(['a-1']);
    await queue.close();
  });

  it('opens a queue file from before message groups: its messages are in no group', async () => {
    const file = tempFile();
    const old = new Database(file);
    old.exec(`CREATE TABLE queue_messages (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, id TEXT NOT NULL UNIQUE,
      body TEXT NOT NULL, attributes TEXT, sent_at INTEGER NOT NULL, visible_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL, receive_count INTEGER NOT NULL DEFAULT 0,
      first_received_at INTEGER, receipt TEXT, dead_letter_reason TEXT);
      CREATE INDEX queue_messages_ready ON queue_messages (queue, visible_at);`);
    const now = Date.now();
    old
      .prepare(
        `INSERT INTO queue_messages (queue, id, body, sent_at, visible_at, expires_at)
         VALUES ('predictions', 'old-1', 'queued before groups', ?, ?, ?)`,
      )
      .run(now, now, now + 3600_000);
    old.close();
    const queue = new SqliteJobQueue({ file, settings: { receiveWaitTimeSeconds: 0 } });
    await queue.send({ body: 'new', groupId: 'user-a' });
    expect((await queue.receive({ maxMessages: 10 })).map((m) => m.body)).toEqual([
      'queued before groups',
      'new',
    ]);
    await queue.close();
    // A second open finds the column there and leaves it.
    await new SqliteJobQueue({ file }).close();
  });

  it('refuses invalid settings and names with a clear message', () => {
    expect(
      () => new SqliteJobQueue({ file: tempFile(), settings: { maxMessageBytes: 300_000 } }),
    ).toThrow(/maxMessageBytes must be a whole number from 1024 to 262144/);
    expect(() => new SqliteJobQueue({ file: tempFile(), name: '../etc' })).toThrow(/Queue name/);
  });
});
