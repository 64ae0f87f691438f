import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../blobs/s3.js';
import { openSqliteDatabase } from '../db/connect.js';
import { SqliteJobQueue } from '../queue/sqlite.js';
import { DependencyChecks } from './dependencies.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server that accepts connections and never answers: a network path that went silent. */
async function silentServer(): Promise<string> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('DependencyChecks', () => {
  it('reports a backend that never answers as failing within its time limit, the others as ok', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'churnline-deps-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const db = await openSqliteDatabase(path.join(dir, 'app.db'));
    cleanups.push(() => db.destroy());
    const queue = new SqliteJobQueue({ file: path.join(dir, 'queue.db') });
    cleanups.push(() => queue.close());
    const blobs = new S3BlobStore({
      bucket: 'churnline',
      forcePathStyle: true,
      endpoint: await silentServer(),
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    cleanups.push(() => blobs.close());
    const checks = new DependencyChecks({
      db,
      queue,
      blobs,
      backends: {
        database: 'SQLite',
        queue: 'SQLite queue',
        blobs: 'Amazon S3 bucket churnline (S3_BUCKET)',
      },
      log: pino({ level: 'silent' }),
      timeoutMs: 300,
    });
    const started = performance.now();
    const [first, second] = [checks.checkAll(), checks.checkAll()];
    expect(second).toBe(first); // overlapping ticks share one check
    const statuses = await first;
    expect(performance.now() - started).toBeLessThan(2000);
    expect(statuses.map((s) => [s.name, s.state, s.detail])).toEqual([
      ['database', 'ok', undefined],
      ['queue', 'ok', undefined],
      [
        'blobs',
        'failing',
        'no answer within 0.3 s: check that this machine can reach it (its endpoint, firewalls, security groups)',
      ],
    ]);
    expect(checks.failing.map((s) => s.name)).toEqual(['blobs']);
  });
});
