import { rmdirSync } from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../../src/db/test-support/embedded-postgres.js';
import { registerResource } from './cleanup.js';

export interface RunningPostgres {
  readonly url: string;
  readonly dataDir: string;
}

/**
 * Starts a throwaway PostgreSQL cluster (the helper `npm test` uses too: fresh data directory
 * under the system temp folder, free port, runs as the `postgres` user when we are root) and
 * registers it with the bench's cleanup.
 *
 * `synchronous_commit=off` matches the durability of the other two systems: our SQLite queue
 * runs WAL with synchronous=NORMAL (no fsync per commit; a process crash loses nothing) and the
 * bench's Redis has persistence off. With fsync per commit pg-boss would measure the disk.
 */
export async function startPostgres(): Promise<RunningPostgres> {
  const server = await startEmbeddedPostgres({ serverFlags: ['-c', 'synchronous_commit=off'] });
  registerResource({
    name: 'postgres',
    stop: server.stop,
    killNow: () => {
      server.killNow();
      // On Ctrl-C embedded-postgres's own exit hook removes the data directory and exits before
      // server.stop() gets to its temp parent; rmdir removes that parent only if it is empty.
      try {
        rmdirSync(path.dirname(server.dataDir));
      } catch {
        // Not empty (the server is still shutting down) or already gone.
      }
    },
  });
  return { url: server.url, dataDir: server.dataDir };
}
