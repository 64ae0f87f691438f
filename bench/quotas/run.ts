/**
 * npm run bench:quotas — what the per-user limits cost a request. Two API-only services in this
 * process on the same database (SQLite, or PostgreSQL with --postgres): one with every limit on
 * (high enough never to refuse, so each check runs in full), one with every limit off (which
 * still takes the user's quota lock and reads their overrides, but counts nothing). Batches of
 * uploads (2 KB), prediction submissions (they stay queued: no worker) and upload reads alternate
 * between the two, and the medians are compared. Then the rate limiter's take() on its own, for
 * one user and for 100,000 users in turn; and reading the usage of a user with --history uploads
 * and as many completed predictions (the query every upload and submission runs, under the lock).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pino from 'pino';
import { createLocalToken } from '../../src/api/auth/local-key.js';
import { RateLimiter } from '../../src/api/rate-limit.js';
import { type App, createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/index.js';
import { readUsage } from '../../src/db/quotas.js';
import { startEmbeddedPostgres } from '../../src/db/test-support/embedded-postgres.js';
import { booleanFlag, log, median, numberFlag } from '../support.js';

const ROUNDS = numberFlag('rounds', 6);
/** Uploads and as many completed predictions of one user, for the cost of counting them. */
const HISTORY = numberFlag('history', 20_000);
const PER_ROUND = numberFlag('per-round', 50);
const usePostgres = booleanFlag('postgres');

const telco = readFileSync(
  fileURLToPath(new URL('../../data/telco-customer-churn.csv', import.meta.url)),
  'utf8',
);
const lines = telco.split('\n');
const smallCsv = `${lines.slice(0, 12).join('\n')}\n`;

const postgres = usePostgres ? await startEmbeddedPostgres() : undefined;
const keys = `bench:${randomBytes(32).toString('base64')}`;

interface Running {
  app: App;
  url: string;
  auth: Record<string, string>;
  dataDir: string;
}

async function start(limits: Record<string, string>): Promise<Running> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'churnline-bench-quotas-'));
  const config = parseConfig({
    CHURNLINE_DATA_DIR: dataDir,
    PORT: '0',
    JOB_SIGNING_KEYS: keys,
    LOG_LEVEL: 'warn',
    ...(postgres ? { DATABASE_URL: postgres.url, QUEUE: 'postgres' } : {}),
    ...limits,
  });
  const app = await createApp(config, pino({ level: 'warn' }), ['api']);
  await app.start();
  const server = app.server;
  if (!server) throw new Error('the API role did not start');
  await server.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  const token = await createLocalToken({
    dataDir,
    userId: `bench-${randomBytes(4).toString('hex')}`,
    ttlSeconds: 3600,
  });
  return { app, url, auth: { authorization: `Bearer ${token}` }, dataDir };
}

const on = await start({
  QUOTA_STORED_BYTES: String(2 ** 50),
  QUOTA_UPLOADS_PER_DAY: '1000000',
  QUOTA_ACTIVE_JOBS: '1000000',
  RATE_LIMIT_PER_SECOND: '100000',
  RATE_LIMIT_BURST: '1000000',
});
const off = await start({
  QUOTA_STORED_BYTES: '0',
  QUOTA_UPLOADS_PER_DAY: '0',
  QUOTA_ACTIVE_JOBS: '0',
  RATE_LIMIT_PER_SECOND: '0',
});

async function timed(run: () => Promise<Response>, expected: number): Promise<number> {
  const started = performance.now();
  const response = await run();
  const body = await response.text();
  if (response.status !== expected) throw new Error(`answered ${response.status}: ${body}`);
  return performance.now() - started;
}

const uploadOnce = (s: Running) => {
  const form = new FormData();
  form.append('file', new Blob([smallCsv], { type: 'text/csv' }), 'customers.csv');
  return fetch(`${s.url}/v1/uploads`, { method: 'POST', headers: s.auth, body: form });
};

/** One upload per service, for the predictions and reads to use. */
async function firstUpload(s: Running): Promise<string> {
  const response = await uploadOnce(s);
  return ((await response.json()) as { id: string }).id;
}

const ops = {
  upload: (s: Running) => timed(() => uploadOnce(s), 201),
  'create prediction': (s: Running, uploadId: string) =>
    timed(
      () =>
        fetch(`${s.url}/v1/predictions`, {
          method: 'POST',
          headers: { ...s.auth, 'content-type': 'application/json' },
          body: JSON.stringify({ uploadId }),
        }),
      202,
    ),
  'read upload': (s: Running, uploadId: string) =>
    timed(() => fetch(`${s.url}/v1/uploads/${uploadId}`, { headers: s.auth }), 200),
  'GET /v1/usage': (s: Running) =>
    timed(() => fetch(`${s.url}/v1/usage`, { headers: s.auth }), 200),
};

try {
  const uploads = new Map([
    [on, await firstUpload(on)],
    [off, await firstUpload(off)],
  ]);
  const samples = new Map<string, { on: number[]; off: number[] }>();
  for (const name of Object.keys(ops)) samples.set(name, { on: [], off: [] });
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which goes first, so that drift in the machine falls on both.
    const order = round % 2 === 0 ? ([on, off] as const) : ([off, on] as const);
    for (const service of order) {
      const label = service === on ? 'on' : 'off';
      for (const [name, op] of Object.entries(ops)) {
        for (let i = 0; i < PER_ROUND; i++) {
          samples.get(name)?.[label].push(await op(service, uploads.get(service) as string));
        }
      }
    }
    log(`round ${round + 1} of ${ROUNDS}`);
  }

  console.log(
    `\n## Per-user limits on ${usePostgres ? 'PostgreSQL' : 'SQLite'}: ${ROUNDS * PER_ROUND} requests of each kind, sequential, medians\n`,
  );
  console.log('| request | limits on (ms) | limits off (ms) | difference |');
  console.log('|---|---|---|---|');
  for (const [name, { on: withLimits, off: without }] of samples) {
    if (name === 'GET /v1/usage') {
      console.log(
        `| ${name} | ${median(withLimits).toFixed(2)} | ${median(without).toFixed(2)} | (the usage page's reads) |`,
      );
      continue;
    }
    const a = median(withLimits);
    const b = median(without);
    console.log(
      `| ${name} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(a - b >= 0 ? '+' : '') + (a - b).toFixed(2)} ms (${(((a - b) / b) * 100).toFixed(0)}%) |`,
    );
  }

  const db = on.app.db;
  const now = Date.now();
  for (let at = 0; at < HISTORY; at += 500) {
    const batch = Array.from({ length: Math.min(500, HISTORY - at) }, (_, i) => {
      const id = randomUUID();
      const time = new Date(now - (at + i) * 60_000).toISOString();
      return { id, time };
    });
    await db
      .insertInto('uploads')
      .values(
        batch.map(({ id, time }) => ({
          id,
          user_id: 'history',
          filename: 'f.csv',
          object_key: `users/history/uploads/${id}.csv`,
          bytes: 1000,
          sha256: '',
          row_count: 1,
          created_at: time,
          deleted_at: null,
        })),
      )
      .execute();
    await db
      .insertInto('predictions')
      .values(
        batch.map(({ id, time }) => ({
          id: randomUUID(),
          user_id: 'history',
          upload_id: id,
          model_id: 'telco-v1',
          status: 'completed' as const,
          attempts: 1,
          rows_scored: 1,
          rows_failed: 0,
          summary: null,
          result_key: null,
          error_code: null,
          error_message: null,
          created_at: time,
          started_at: time,
          completed_at: time,
          updated_at: time,
          deleted_at: null,
          result_bytes: 2000,
        })),
      )
      .execute();
  }
  const dayStart = `${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`;
  const readUsageMs = async () => {
    const reads: number[] = [];
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      await readUsage(db, 'history', dayStart);
      reads.push(performance.now() - started);
    }
    return median(reads).toFixed(2);
  };
  const history = HISTORY.toLocaleString('en-US');
  console.log(
    `\n| reading the usage of a user with ${history} uploads and ${history} predictions | ms (median of 50) |`,
  );
  console.log('|---|---|');
  console.log(`| just written | ${await readUsageMs()} |`);
  if (postgres) {
    // Index-only scans need the visibility map, which (auto)vacuum sets after bulk writes.
    await sql`vacuum analyze uploads, predictions`.execute(db);
    console.log(`| after VACUUM ANALYZE (what autovacuum does) | ${await readUsageMs()} |`);
  }

  const limiter = new RateLimiter();
  const settings = { perSecond: 50, burst: 100 };
  const timeTakes = (users: number, calls: number) => {
    const ids = Array.from({ length: users }, (_, i) => `user-${i}`);
    const runs: number[] = [];
    for (let r = 0; r < 5; r++) {
      const started = performance.now();
      for (let i = 0; i < calls; i++) limiter.take(ids[i % users] as string, settings);
      runs.push(((performance.now() - started) * 1e6) / calls);
    }
    return median(runs);
  };
  console.log('\n| rate limiter take() | ns per call (median of 5 runs of 1,000,000) |');
  console.log('|---|---|');
  console.log(`| one user | ${timeTakes(1, 1_000_000).toFixed(0)} |`);
  console.log(`| 100,000 users in turn | ${timeTakes(100_000, 1_000_000).toFixed(0)} |`);
} finally {
  for (const service of [on, off]) {
    await service.app.close();
    rmSync(service.dataDir, { recursive: true, force: true });
  }
  await postgres?.stop();
}
