/**
 * npm run bench:load — the API under load while workers drain a backlog, on the embedded setup
 * split into processes as a single machine would run it: one `churnline serve --roles api` and
 * `churnline worker` process(es) from the build, sharing the SQLite files and the data directory.
 *
 * It queues a backlog of 10,000 jobs (1,000-row uploads), then for 30 s drives the API with
 * autocannon on 50 connections: four fifths read (prediction list and detail, JSON row pages by
 * risk and by tier, the scored CSV, the upload list and detail, a prediction's changes since the
 * previous one, a customer's history), one fifth upload 100-row CSVs.
 * It prints throughput, p50/p99 latency, errors and 5xx per group, the jobs the workers finished
 * meanwhile, the CPU each process used, and each process's peak RSS. Goals: zero 5xx, reads
 * p99 < 50 ms.
 *
 * The API serves from one event loop, and the readers are a closed loop: each sends its next
 * request when the last is answered. So the API runs flat out on its core, a read waits for the
 * requests of the other connections ahead of it (the median is about connections / throughput),
 * and one that arrives just after the loop took its batch waits for two batches: the p99 sits
 * near twice the median, and falls only as the API's CPU per request does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { createLocalToken } from '../../src/api/auth/local-key.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 30);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const UPLOAD_CONNECTIONS = Math.max(1, Math.round(CONNECTIONS / 5));
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 10_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
const READ_P99_GOAL_MS = 50;

const cliEntry = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
if (!existsSync(cliEntry)) throw new Error('dist/ is missing: run npm run build first');
const telco = readFileSync(
  fileURLToPath(new URL('../../data/telco-customer-churn.csv', import.meta.url)),
  'utf8',
);
const [header, ...telcoRows] = telco.trimEnd().split('\n');
const csvOf = (rows: number) => `${header}\n${telcoRows.slice(0, rows).join('\n')}\n`;

const dataDir = mkdtempSync(path.join(tmpdir(), 'churnline-bench-load-'));
const env = {
  ...process.env,
  CHURNLINE_DATA_DIR: dataDir,
  HOST: '127.0.0.1',
  JOB_SIGNING_KEYS: `bench:${randomBytes(32).toString('base64')}`,
  // The benchmark measures the pipeline, not the per-user limits (test/quotas.test.ts).
  QUOTA_STORED_BYTES: '0',
  QUOTA_UPLOADS_PER_DAY: '0',
  QUOTA_ACTIVE_JOBS: '0',
  RATE_LIMIT_PER_SECOND: '0',
  LOG_LEVEL: 'info',
  WORKER_CONCURRENCY: '1',
};
const children: ChildProcess[] = [];
const stopAll = () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
};
process.once('SIGINT', () => {
  stopAll();
  process.exit(130);
});

/** A port that was free a moment ago, for the API process to listen on. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts the API process and resolves with its URL once /healthz answers. Its log goes nowhere:
 * an unread pipe would fill and block the process on its next log line.
 */
async function startApi(): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [cliEntry, 'serve', '--roles', 'api'], {
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error('the API process exited before listening');
    const healthy = await fetch(`${url}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) return { child, url };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** CPU seconds (user + system, all threads) a live process has used so far. */
function cpuSeconds(pid: number | undefined): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime, in clock ticks: 100 a second on Linux.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The highest resident set size a live process has had, in MB (VmHWM). */
function peakRssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

function multipart(csv: string): { body: Buffer; contentType: string } {
  const boundary = `----churnline-bench-${randomBytes(8).toString('hex')}`;
  const body = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="customers.csv"\r\n` +
      `Content-Type: text/csv\r\n\r\n${csv}\r\n--${boundary}--\r\n`,
  );
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

const { child: api, url } = await startApi();
const token = await createLocalToken({ dataDir, userId: 'load', ttlSeconds: 3600 });
const auth = { authorization: `Bearer ${token}` };

async function call<T>(method: string, route: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: body === undefined ? auth : { ...auth, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok)
    throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function uploadCsv(csv: string): Promise<string> {
  const form = multipart(csv);
  const response = await fetch(`${url}/v1/uploads`, {
    method: 'POST',
    headers: { ...auth, 'content-type': form.contentType },
    body: form.body,
  });
  if (response.status !== 201)
    throw new Error(`upload: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

const predictionCounts = () => {
  const db = new Database(path.join(dataDir, 'churnline.db'), { readonly: true });
  try {
    const rows = db
      .prepare('SELECT status, count(*) AS n FROM predictions GROUP BY status')
      .all() as Array<{ status: string; n: number }>;
    return Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
  } finally {
    db.close();
  }
};

try {
  for (let i = 0; i < WORKERS; i++) {
    children.push(
      spawn(process.execPath, [cliEntry, 'worker'], {
        env,
        stdio: ['ignore', 'ignore', 'inherit'],
      }),
    );
  }
  const workers = children.slice(1);

  // What the readers read: one scored upload, completed before the backlog is queued.
  // Scored twice, so the second has changes and its customers a history to read.
  const uploadId = await uploadCsv(csvOf(1000));
  const scored = async () => {
    const { id } = await call<{ id: string }>('POST', '/v1/predictions', { uploadId });
    for (;;) {
      const { status } = await call<{ status: string }>('GET', `/v1/predictions/${id}`);
      if (status === 'completed') return id;
      if (status === 'failed') throw new Error('the prediction read under load failed');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const readId = await scored();
  const changesId = await scored();
  const { rows: firstRows } = await call<{ rows: Array<{ customerId: string }> }>(
    'GET',
    `/v1/predictions/${changesId}/rows?limit=1`,
  );
  const customerId = encodeURIComponent(firstRows[0]?.customerId ?? '');

  process.stderr.write(`queueing ${BACKLOG.toLocaleString('en-US')} jobs...\n`);
  const queueStarted = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 25 }, async () => {
      while (next++ < BACKLOG) await call('POST', '/v1/predictions', { uploadId });
    }),
  );
  const queueSeconds = (performance.now() - queueStarted) / 1000;

  const before = predictionCounts();
  const cpuBefore = children.map((child) => cpuSeconds(child.pid));
  const loadCpuBefore = process.cpuUsage();
  process.stderr.write(`driving the API for ${DURATION_S} s on ${CONNECTIONS} connections...\n`);
  const read = (route: string) => ({ method: 'GET' as const, path: route, headers: auth });
  const upload = multipart(csvOf(100));
  const [reads, uploads] = await Promise.all([
    autocannon({
      url,
      connections: CONNECTIONS - UPLOAD_CONNECTIONS,
      duration: DURATION_S,
      requests: [
        read('/v1/predictions?limit=20'),
        read(`/v1/predictions/${readId}`),
        read(`/v1/predictions/${readId}/rows?limit=50&sort=probability_desc`),
        read(`/v1/predictions/${readId}/rows?limit=50&tier=high`),
        read(`/v1/predictions/${readId}/results.csv`),
        read('/v1/uploads?limit=20'),
        read(`/v1/uploads/${uploadId}`),
        read(`/v1/predictions/${changesId}/changes`),
        read(`/v1/customers/${customerId}`),
      ],
    }),
    autocannon({
      url: `${url}/v1/uploads`,
      connections: UPLOAD_CONNECTIONS,
      duration: DURATION_S,
      method: 'POST',
      headers: { ...auth, 'content-type': upload.contentType },
      body: upload.body,
    }),
  ]);
  const after = predictionCounts();
  const cpu = children.map((child, i) => cpuSeconds(child.pid) - (cpuBefore[i] as number));
  const loadCpu = process.cpuUsage(loadCpuBefore);
  for (const [name, result] of [
    ['reads', reads],
    ['uploads', uploads],
  ] as const) {
    const odd = Object.entries(result.statusCodeStats ?? {}).filter(
      ([code]) => !code.startsWith('2'),
    );
    if (odd.length > 0) {
      process.stderr.write(
        `${name}: ${odd.map(([code, stats]) => `${stats.count} x ${code}`).join(', ')}\n`,
      );
    }
  }
  const finished = (counts: Record<string, number>) =>
    (counts.completed ?? 0) + (counts.failed ?? 0);
  const drained = finished(after) - finished(before);

  const rss = {
    api: peakRssMb(api.pid),
    workers: workers.map((w) => peakRssMb(w.pid)),
    load: process.resourceUsage().maxRSS / 1024,
  };

  console.log(
    `\nbench:load — ${DURATION_S} s, ${CONNECTIONS} connections (${CONNECTIONS - UPLOAD_CONNECTIONS} reading, ${UPLOAD_CONNECTIONS} uploading), ${WORKERS} worker process(es), ${cpus().length} CPUs, embedded setup (SQLite + local disk)\n`,
  );
  console.log(
    '| group   | requests | req/s   | p50 ms | p99 ms | max ms | errors | non-2xx | 5xx |',
  );
  console.log(
    '|---------|----------|---------|--------|--------|--------|--------|---------|-----|',
  );
  for (const [name, r] of [
    ['reads', reads],
    ['uploads', uploads],
  ] as const) {
    console.log(
      `| ${name.padEnd(7)} | ${String(r.requests.total).padStart(8)} | ${r.requests.average.toFixed(0).padStart(7)} | ${String(r.latency.p50).padStart(6)} | ${String(r.latency.p99).padStart(6)} | ${String(r.latency.max).padStart(6)} | ${String(r.errors).padStart(6)} | ${String(r.non2xx).padStart(7)} | ${String(r['5xx']).padStart(3)} |`,
    );
  }
  console.log(
    `\nbacklog: ${BACKLOG.toLocaleString('en-US')} jobs queued in ${queueSeconds.toFixed(1)} s (${Math.round(BACKLOG / queueSeconds)} jobs/s); during the load the workers finished ${drained} jobs (${(drained / DURATION_S).toFixed(1)} jobs/s, ${Math.round((drained * 1000) / DURATION_S).toLocaleString('en-US')} rows/s); ${(after.queued ?? 0) + (after.running ?? 0)} still waiting`,
  );
  const share = (seconds: number) =>
    `${seconds.toFixed(1)} s (${Math.round((100 * seconds) / DURATION_S)}% of a core)`;
  console.log(
    `CPU during the load: API ${share(cpu[0] as number)}, worker(s) ${cpu.slice(1).map(share).join(', ')}, load generator ${share((loadCpu.user + loadCpu.system) / 1e6)}`,
  );
  console.log(
    `peak RSS: API ${rss.api.toFixed(0)} MB, worker(s) ${rss.workers.map((m) => `${m.toFixed(0)} MB`).join(', ')}, load generator ${rss.load.toFixed(0)} MB`,
  );
  const errors = reads.errors + uploads.errors + reads.non2xx + uploads.non2xx;
  const fivexx = reads['5xx'] + uploads['5xx'];
  console.log(
    `goals: zero 5xx ${fivexx === 0 ? 'met' : `MISSED (${fivexx})`}; zero errors ${errors === 0 ? 'met' : `MISSED (${errors})`}; reads p99 < ${READ_P99_GOAL_MS} ms ${reads.latency.p99 < READ_P99_GOAL_MS ? 'met' : 'MISSED'} (${reads.latency.p99} ms)`,
  );
} finally {
  stopAll();
}
