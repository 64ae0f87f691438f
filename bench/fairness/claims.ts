/**
 * What a fair claim costs with a deep backlog: receive (max 1) + delete against a queue holding
 * --backlog messages (default 100,000), spread over 1, 100 or 1,000 users (one user holding 90%
 * of it; the others sharing the rest), on the SQLite queue or, with --postgres, the PostgreSQL one.
 *
 * Run by `npm run bench:fairness`; alone: `tsx bench/fairness/claims.ts [--postgres]
 * [--backlog N] [--src DIR]`. --src measures the queue of another checkout of Churnline (its
 * `src/`), e.g. one from before fair scheduling, whose queue ignores the groups it is sent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { JobQueue } from '../../src/queue/port.js';
import { booleanFlag, log, median, numberFlag, root } from '../support.js';

export interface ClaimRow {
  readonly users: number;
  readonly receiveMedianMs: number;
  readonly receiveP99Ms: number;
  readonly deleteMedianMs: number;
}

const SAMPLES = 1000;
const USER_COUNTS = [1, 100, 1000] as const;

/** Opens a fresh queue of the kind measured, from the checkout at `srcRoot`. */
export type QueueOpener = () => Promise<{ queue: JobQueue; close(): Promise<void> }>;

export function sqliteOpener(srcRoot: string): QueueOpener {
  return async () => {
    const { SqliteJobQueue } = (await import(
      pathToFileURL(path.join(srcRoot, 'src/queue/sqlite.ts')).href
    )) as typeof import('../../src/queue/sqlite.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'churnline-bench-claims-'));
    const queue = new SqliteJobQueue({
      file: path.join(dir, 'queue.db'),
      settings: { receiveWaitTimeSeconds: 0 },
    });
    return {
      queue,
      close: async () => {
        await queue.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
}

export function postgresOpener(srcRoot: string, url: string): QueueOpener {
  let serial = 0;
  return async () => {
    const { PostgresJobQueue } = (await import(
      pathToFileURL(path.join(srcRoot, 'src/queue/postgres.ts')).href
    )) as typeof import('../../src/queue/postgres.js');
    serial++;
    const queue = new PostgresJobQueue({
      connectionString: url,
      name: `claims-${process.pid}-${serial}`,
      settings: { receiveWaitTimeSeconds: 0 },
    });
    return {
      queue,
      close: async () => {
        await queue.purgeExpired();
        await queue.close();
      },
    };
  };
}

/** Who sends message `i` of the backlog: user 0 sends 90%, the others the rest in turn. */
function ownerOf(i: number, users: number): string {
  if (users === 1 || i % 10 !== 0) return 'user-0';
  return `user-${1 + ((i / 10) % (users - 1))}`;
}

async function fill(queue: JobQueue, backlog: number, users: number): Promise<void> {
  const body = JSON.stringify({ predictionId: '0'.repeat(36), padding: 'x'.repeat(120) });
  for (let i = 0; i < backlog; i += 10) {
    const entries = Array.from({ length: Math.min(10, backlog - i) }, (_, j) => ({
      id: `m${j}`,
      body,
      groupId: ownerOf(i + j, users),
    }));
    await queue.sendBatch(entries);
  }
}

async function measureOne(open: QueueOpener, backlog: number, users: number): Promise<ClaimRow> {
  const { queue, close } = await open();
  try {
    log(`  ${backlog.toLocaleString('en-US')} messages from ${users} user(s): filling...`);
    await fill(queue, backlog, users);
    const receives: number[] = [];
    const deletes: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const started = performance.now();
      const [message] = await queue.receive({ maxMessages: 1, waitSeconds: 0 });
      const received = performance.now();
      if (!message) throw new Error('the queue gave nothing with a backlog');
      await queue.delete(message.receiptHandle);
      receives.push(received - started);
      deletes.push(performance.now() - received);
    }
    receives.sort((a, b) => a - b);
    return {
      users,
      receiveMedianMs: median(receives),
      receiveP99Ms: receives[Math.floor(receives.length * 0.99)] as number,
      deleteMedianMs: median(deletes),
    };
  } finally {
    await close();
  }
}

export async function measureClaims(open: QueueOpener, backlog: number): Promise<ClaimRow[]> {
  const rows: ClaimRow[] = [];
  for (const users of USER_COUNTS) rows.push(await measureOne(open, backlog, users));
  return rows;
}

export function claimTable(title: string, backlog: number, rows: readonly ClaimRow[]): string {
  const lines = [
    `\n## ${title}: receive (max 1) + delete with ${backlog.toLocaleString('en-US')} messages queued, ${SAMPLES} samples\n`,
    '| users with queued jobs | receive median ms | receive p99 ms | delete median ms |',
    '|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.users.toLocaleString('en-US')} | ${r.receiveMedianMs.toFixed(3)} | ${r.receiveP99Ms.toFixed(3)} | ${r.deleteMedianMs.toFixed(3)} |`,
    ),
  ];
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const backlog = numberFlag('backlog', 100_000);
  const at = process.argv.indexOf('--src');
  const srcRoot = at === -1 ? root : path.resolve(process.argv[at + 1] ?? '.');
  const usePostgres = booleanFlag('postgres');
  let stop = async () => {};
  let open = sqliteOpener(srcRoot);
  if (usePostgres) {
    const { startEmbeddedPostgres } = await import(
      '../../src/db/test-support/embedded-postgres.js'
    );
    const postgres = await startEmbeddedPostgres();
    stop = () => postgres.stop();
    open = postgresOpener(srcRoot, postgres.url);
  }
  try {
    const rows = await measureClaims(open, backlog);
    console.log(
      claimTable(`${usePostgres ? 'PostgreSQL' : 'SQLite'} queue (${srcRoot})`, backlog, rows),
    );
  } finally {
    await stop();
  }
}
