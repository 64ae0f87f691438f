/**
 * npm run bench:history — what the customer history costs a large prediction, and how fast its
 * pages answer. Runs the real service in this process (API + worker; SQLite by default,
 * PostgreSQL with --postgres) and scores a Telco-shaped file of --rows rows (default 1,000,000)
 * twice: the first prediction has nothing to compare with; the second compares every customer
 * with the first. Each job's log line reports its time and the history's share: comparing and
 * bucketing in the scoring thread, writing to the database. Then it times the history pages:
 * the changes of the second prediction and customer pages picked at random.
 *
 * Goal (issue #15): the history adds at most 30% to the job's time. The peer is the same job
 * without the history: its time is the job's time minus the history's parts, in the same run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createLocalToken } from '../../src/api/auth/local-key.js';
import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/index.js';
import { startEmbeddedPostgres } from '../../src/db/test-support/embedded-postgres.js';
import { booleanFlag, ensureTelcoCsv, log, median, numberFlag, root } from '../support.js';

const ROWS = numberFlag('rows', 1_000_000);
const PAGE_RUNS = numberFlag('page-runs', 200);
const usePostgres = booleanFlag('postgres');

const file = await ensureTelcoCsv(`${root}bench/.work/history/`, ROWS);
const postgres = usePostgres ? await startEmbeddedPostgres() : undefined;
const dataDir = mkdtempSync(path.join(tmpdir(), 'churnline-bench-history-'));

/** The worker's "prediction completed" lines, read from the service's own log. */
const completions: Array<{ ms: number; historyMs: { compare: number; write: number } }> = [];
const logSink = new Writable({
  write(chunk, _encoding, done) {
    for (const line of String(chunk).split('\n')) {
      if (!line.includes('prediction completed')) continue;
      completions.push(JSON.parse(line));
    }
    done();
  },
});
const config = parseConfig({
  CHURNLINE_DATA_DIR: dataDir,
  PORT: '0',
  JOB_SIGNING_KEYS: `bench:${randomBytes(32).toString('base64')}`,
  // The benchmark measures the pipeline, not the per-user limits (test/quotas.test.ts).
  QUOTA_STORED_BYTES: '0',
  QUOTA_UPLOADS_PER_DAY: '0',
  QUOTA_ACTIVE_JOBS: '0',
  RATE_LIMIT_PER_SECOND: '0',
  UPLOAD_MAX_BYTES: String(1024 * 1024 * 1024),
  ...(postgres ? { DATABASE_URL: postgres.url, QUEUE: 'postgres' } : {}),
});
const app = await createApp(config, pino({ level: 'info' }, logSink));
await app.start();
const server = app.server;
if (!server) throw new Error('the API did not start');
await server.listen({ host: '127.0.0.1', port: 0 });
const url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
const token = await createLocalToken({ dataDir, userId: 'bench', ttlSeconds: 3600 });
const headers = { authorization: `Bearer ${token}` };

async function json(pathname: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}${pathname}`, {
    ...init,
    headers: { ...headers, ...init.headers },
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok)
    throw new Error(`${pathname} answered ${response.status}: ${JSON.stringify(body)}`);
  return body;
}

async function predict(): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(file)], { type: 'text/csv' }), 'customers.csv');
  const uploaded = await json('/v1/uploads', { method: 'POST', body: form });
  const created = await json('/v1/predictions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ uploadId: uploaded.id }),
  });
  for (;;) {
    const prediction = await json(`/v1/predictions/${created.id}`);
    if (prediction.status === 'completed') return created.id as string;
    if (prediction.status === 'failed') throw new Error(JSON.stringify(prediction.error));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function timePages(paths: () => string): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < PAGE_RUNS; i++) {
    const started = performance.now();
    await json(paths());
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: median(times), p99: times[Math.floor(times.length * 0.99)] as number };
}

try {
  log(
    `scoring ${ROWS.toLocaleString('en-US')} rows twice on ${usePostgres ? 'PostgreSQL' : 'SQLite'}`,
  );
  await predict();
  const second = await predict();
  // The first read of a prediction's pages loads its rows index: timed apart from the rest.
  const cold = performance.now();
  await json(`/v1/predictions/${second}/changes`);
  const coldMs = performance.now() - cold;
  const changes = await timePages(() => `/v1/predictions/${second}/changes`);
  const customers = await timePages(
    () => `/v1/customers/${String(Math.floor(Math.random() * ROWS)).padStart(7, '0')}-SYNTH`,
  );

  console.log(
    `\n## Customer history, ${ROWS.toLocaleString('en-US')} rows, ${usePostgres ? 'PostgreSQL' : 'SQLite'}\n`,
  );
  console.log(
    '| prediction | job ms | compare ms | write ms | job without history ms | history adds |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const [i, done] of completions.entries()) {
    const history = done.historyMs.compare + done.historyMs.write;
    const without = done.ms - history;
    console.log(
      `| ${i === 0 ? 'first (nothing to compare)' : 'second (compared)'} | ${done.ms} | ${done.historyMs.compare} | ${done.historyMs.write} | ${without} | ${((100 * history) / without).toFixed(1)}% |`,
    );
  }
  console.log('\n| page | p50 ms | p99 ms |\n|---|---|---|');
  console.log(
    `| GET /v1/predictions/{id}/changes, first read (loads the rows index) | ${coldMs.toFixed(1)} | |`,
  );
  console.log(
    `| GET /v1/predictions/{id}/changes | ${changes.p50.toFixed(1)} | ${changes.p99.toFixed(1)} |`,
  );
  console.log(
    `| GET /v1/customers/{id} | ${customers.p50.toFixed(1)} | ${customers.p99.toFixed(1)} |`,
  );
  const worst = Math.max(
    ...completions.map(
      (c) =>
        (c.historyMs.compare + c.historyMs.write) /
        (c.ms - c.historyMs.compare - c.historyMs.write),
    ),
  );
  console.log(
    `\ngoal: history adds at most 30% to the job's time: ${worst <= 0.3 ? 'met' : 'MISSED'} (${(100 * worst).toFixed(1)}%)`,
  );
} finally {
  await app.close();
  await postgres?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
