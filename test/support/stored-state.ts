import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RunningService } from './service.js';

/**
 * Everything a request could have stored: the rows of every table, the blob keys, the queue's
 * counts and every file of the data directory with its size (the SQLite files themselves are
 * left out: their pages change on reads too, and the rows above cover them).
 */
export async function storedState(service: RunningService): Promise<Record<string, unknown>> {
  const { db, blobs, queue } = service.app;
  const stats = await queue.stats();
  return {
    uploads: await db.selectFrom('uploads').selectAll().orderBy('id').execute(),
    predictions: await db.selectFrom('predictions').selectAll().orderBy('id').execute(),
    outbox: await db.selectFrom('outbox').selectAll().execute(),
    blobs: await blobs.list('users/'),
    queue: [stats.visible, stats.inFlight, stats.delayed, stats.deadLetter.visible],
    files: filesUnder(service.dataDir),
  };
}

function filesUnder(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (!/\.db(-wal|-shm|-journal)?$/.test(entry.name)) {
        found.push(`${path.relative(root, full)} ${statSync(full).size}`);
      }
    }
  };
  walk(root);
  return found.sort();
}
