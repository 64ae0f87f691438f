/**
 * npm run bench:fairness — does one user's backlog hold up another user's job? Runs the real
 * service in this process (API + worker with its default 2 jobs at once; the SQLite queue, or
 * the PostgreSQL one with --postgres). User A uploads a Telco file and queues --jobs predictions
 * of it (default 500); once A's jobs are running steadily, user B queues one of the same file
 * (B scored it once before, so that its job, like A's, compares with a previous prediction). B's wait is its queue-to-complete time (createdAt to completedAt) divided by the
 * median time of a job (startedAt to completedAt of A's completed ones): "jobs' worth".
 *
 * Goal (issue #16): B's completes within the time of 3 jobs. The peer is the order from before
 * fair scheduling, oldest first: B would have waited for every job of A's still queued when B's
 * was, on the same workers; its estimate is printed beside the measured figure.
 *
 * Then the claim itself with a deep backlog (claims.ts): --backlog messages (default 100,000).
 * --rows N scores Telco-shaped files of N rows instead of the 7,043-row Telco file.
 * --skip-claims leaves the second table out. --src DIR runs the service of another checkout of
 * Churnline (e.g. one from before fair scheduling, to measure oldest-first rather than estimate it).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { booleanFlag, ensureTelcoCsv, log, median, numberFlag, root } from '../support.js';
import { claimTable, measureClaims, postgresOpener, sqliteOpener } from './claims.js';

const srcAt = process.argv.indexOf('--src');
const srcRoot = srcAt === -1 ? root : `${path.resolve(process.argv[srcAt + 1] ?? '.')}/`;
const fromSrc = <T>(module: string): Promise<T> =>
  import(pathToFileURL(path.join(srcRoot, module)).href) as Promise<T>;
const { createLocalToken } = await fromSrc<typeof import('../../src/api/auth/local-key.js')>(
  'src/api/auth/local-key.ts',
);
const { createApp } = await fromSrc<typeof import('../../src/app.js')>('src/app.ts');
const { parseConfig } =
  await fromSrc<typeof import('../../src/config/index.js')>('src/config/index.ts');
const { startEmbeddedPostgres } = await fromSrc<
  typeof import('../../src/db/test-support/embedded-postgres.js')
>('src/db/test-support/embedded-postgres.ts');

const JOBS = numberFlag('jobs', 500);
const usePostgres = booleanFlag('postgres');
const rowsFlag = process.argv.includes('--rows') ? numberFlag('rows', 1) : undefined;
const BACKLOG = numberFlag('backlog', 100_000);
/** A's jobs completed before B submits: the workers are busy with A and in their stride. */
const WARM_JOBS = 6;

const file =
  rowsFlag === undefined
    ? `${root}data/telco-customer-churn.csv`
    : await ensureTelcoCsv(`${root}bench/.work/fairness/`, rowsFlag);
const rowsPerFile = readFileSync(file, 'utf8').trimEnd().split('\n').length - 1;
const postgres = usePostgres ? await startEmbeddedPostgres() : undefined;
const dataDir = mkdtempSync(path.join(tmpdir(), 'churnline-bench-fairness-'));
const backend = usePostgres ? 'PostgreSQL' : 'SQLite';

const config = parseConfig({
  CHURNLINE_DATA_DIR: dataDir,
  PORT: '0',
  JOB_SIGNING_KEYS: `bench:${randomBytes(32).toString('base64')}`,
  // What is left of A's backlog at the end is abandoned, not waited for.
  SHUTDOWN_DEADLINE_S: '0',
  // A queues 500 at once: the scheduler is measured, not the per-user limits (bench:quotas).
  QUOTA_STORED_BYTES: '0',
  QUOTA_UPLOADS_PER_DAY: '0',
  QUOTA_ACTIVE_JOBS: '0',
  RATE_LIMIT_PER_SECOND: '0',
  ...(postgres ? { DATABASE_URL: postgres.url, QUEUE: 'postgres' } : {}),
});
const app = await createApp(config, pino({ level: 'error' }));
await app.start();
const server = app.server;
if (!server) throw new Error('the API did not start');
await server.listen({ host: '127.0.0.1', port: 0 });
const url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;

interface Prediction {
  id: string;
  status: string;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
}

async function client(userId: string) {
  const token = await createLocalToken({ dataDir, userId, ttlSeconds: 3600 });
  async function json<T>(pathname: string, init: RequestInit = {}): Promise<T> {
    const response = await fetch(`${url}${pathname}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...init.headers },
    });
    const body = (await response.json()) as T;
    if (!response.ok) {
      throw new Error(`${pathname} answered ${response.status}: ${JSON.stringify(body)}`);
    }
    return body;
  }
  return {
    async upload(): Promise<string> {
      const form = new FormData();
      form.append('file', new Blob([readFileSync(file)], { type: 'text/csv' }), 'customers.csv');
      return (await json<{ id: string }>('/v1/uploads', { method: 'POST', body: form })).id;
    },
    predict: (uploadId: string) =>
      json<Prediction>('/v1/predictions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ uploadId }),
      }),
    get: (id: string) => json<Prediction>(`/v1/predictions/${id}`),
    async completed(): Promise<Prediction[]> {
      const all: Prediction[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const page: { predictions: Prediction[]; nextCursor: string | null } = await json(
          `/v1/predictions?status=completed&limit=100${query}`,
        );
        all.push(...page.predictions);
        cursor = page.nextCursor;
      } while (cursor);
      return all;
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ms = (iso: string | null) => (iso === null ? Number.NaN : Date.parse(iso));

async function untilCompleted(get: () => Promise<Prediction>): Promise<Prediction> {
  for (;;) {
    const prediction = await get();
    if (prediction.status === 'completed') return prediction;
    if (prediction.status === 'failed') throw new Error(`a job failed: ${prediction.id}`);
    await sleep(25);
  }
}

try {
  const a = await client('user-a');
  const b = await client('user-b');
  // B scores the file once first, so that its measured job, like A's, compares its customers
  // with a previous prediction's (the customer history): the same work as each of A's.
  const bUpload = await b.upload();
  const bFirst = await b.predict(bUpload);
  await untilCompleted(() => b.get(bFirst.id));
  log(
    `${backend}: user A queues ${JOBS} predictions of ${rowsPerFile.toLocaleString('en-US')} rows`,
  );
  const aUpload = await a.upload();
  const aIds: string[] = [];
  for (let i = 0; i < JOBS; i++) aIds.push((await a.predict(aUpload)).id);
  log(`waiting for ${WARM_JOBS} of A's jobs to complete`);
  for (const id of aIds.slice(0, WARM_JOBS)) await untilCompleted(() => a.get(id));
  const bCreated = await b.predict(bUpload);
  log('user B queued one prediction; waiting for it');
  const bDone = await untilCompleted(() => b.get(bCreated.id));
  const aDone = await a.completed();

  const jobMs = median(aDone.map((p) => ms(p.completedAt) - ms(p.startedAt)));
  const bWaitMs = ms(bDone.completedAt) - ms(bDone.createdAt);
  const bCreatedAt = ms(bDone.createdAt);
  const bStartedAt = ms(bDone.startedAt);
  // A's jobs not started when B's was queued: oldest first, B's would have waited for them all.
  const aStartedBeforeB = aDone.filter((p) => ms(p.startedAt) <= bCreatedAt).length;
  const aQueuedAhead = JOBS - aStartedBeforeB;
  const aJumpedAhead = aDone.filter(
    (p) => ms(p.startedAt) > bCreatedAt && ms(p.startedAt) < bStartedAt,
  ).length;
  const workers = config.worker.concurrency;
  const fifoJobs = aQueuedAhead / workers + 1;
  const worth = bWaitMs / jobMs;

  console.log(
    `\n## Fair scheduling, ${backend} queue: user A queued ${JOBS} predictions, then user B one${srcAt === -1 ? '' : ` (service from ${srcRoot})`}\n`,
  );
  console.log(
    `Telco file: ${rowsPerFile.toLocaleString('en-US')} rows${rowsFlag === undefined ? ' (data/telco-customer-churn.csv)' : ' (Telco-shaped, generated)'}; ${workers} jobs at once in one worker; the job time is the median of A's ${aDone.length} completed jobs (started to completed).\n`,
  );
  console.log(
    "| queue | job median ms | B queued → completed ms (waiting + its own job) | B in jobs' worth | A's jobs started after B queued, before B started | oldest first (before): A's jobs queued ahead of B | oldest first, estimated jobs' worth |",
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  console.log(
    `| ${backend} | ${jobMs.toFixed(0)} | ${bWaitMs.toFixed(0)} (${(bStartedAt - bCreatedAt).toFixed(0)} + ${(ms(bDone.completedAt) - bStartedAt).toFixed(0)}) | ${worth.toFixed(2)} | ${aJumpedAhead} | ${aQueuedAhead} | ${fifoJobs.toFixed(0)} |`,
  );
  console.log(
    `\ngoal: B's completes within the time of 3 jobs: ${worth <= 3 ? 'met' : 'MISSED'} (${worth.toFixed(2)})`,
  );
} finally {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
}

try {
  if (!booleanFlag('skip-claims')) {
    log(`measuring claims with ${BACKLOG.toLocaleString('en-US')} messages queued (${backend})`);
    const open = postgres ? postgresOpener(srcRoot, postgres.url) : sqliteOpener(srcRoot);
    const rows = await measureClaims(open, BACKLOG);
    console.log(claimTable(`${backend} queue`, BACKLOG, rows));
  }
} finally {
  await postgres?.stop();
}
