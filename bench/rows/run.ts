/**
 * npm run bench:rows — how fast /v1/predictions/{id}/rows answers on a 1,000,000-row prediction.
 * Generates the Telco rows repeated with unique customer ids, uploads and scores them through the
 * real service (API + worker, SQLite, local disk; BENCH_BLOBS=s3 for S3 on fauxqs in this
 * process), then restarts the API so its rows-index cache is empty, and times the cold first page
 * and warm pages of every kind. A measurement to read, not a test: nothing here asserts.
 *
 * BENCH_ROWS (default 1,000,000) sets the size; BENCH_RUNS (default 25) the repetitions per page.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import pino from 'pino';
import { createLocalToken } from '../../src/api/auth/local-key.js';
import { type App, createApp, type Role } from '../../src/app.js';
import { startLocalAws } from '../../src/aws/test-support/local-aws.js';
import { parseConfig } from '../../src/config/index.js';
import { rowsIndexKey } from '../../src/ids.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 25);
const BLOBS = process.env.BENCH_BLOBS === 's3' ? 's3' : 'fs';
const USER = 'bench-rows';

const telco = readFileSync(
  fileURLToPath(new URL('../../data/telco-customer-churn.csv', import.meta.url)),
  'utf8',
);
const [header = '', ...telcoRows] = telco.trimEnd().split('\n');

/** Telco rows repeated; each id gets a suffix so that all ids differ, as in a real export. */
function generate(rows: number): Buffer {
  const parts: string[] = [`${header}\n`];
  for (let i = 0; i < rows; i++) {
    const row = telcoRows[i % telcoRows.length] as string;
    const comma = row.indexOf(',');
    parts.push(`${row.slice(0, comma)}-${i.toString(36)}${row.slice(comma)}\n`);
  }
  return Buffer.from(parts.join(''));
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'churnline-bench-rows-'));
const env: Record<string, string> = {
  CHURNLINE_DATA_DIR: dataDir,
  PORT: '0',
  JOB_SIGNING_KEYS: `bench:${randomBytes(32).toString('base64')}`,
  // The benchmark measures the pipeline, not the per-user limits (test/quotas.test.ts).
  QUOTA_STORED_BYTES: '0',
  QUOTA_UPLOADS_PER_DAY: '0',
  QUOTA_ACTIVE_JOBS: '0',
  RATE_LIMIT_PER_SECOND: '0',
  LOG_LEVEL: 'warn',
  UPLOAD_MAX_BYTES: String(1024 * 1024 * 1024),
};
const aws = BLOBS === 's3' ? await startLocalAws() : undefined;
if (aws) {
  const bucket = 'churnline-bench-rows';
  const client = new S3Client({
    endpoint: aws.endpoint,
    region: aws.region,
    credentials: aws.credentials,
    forcePathStyle: true,
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  process.env.AWS_ACCESS_KEY_ID = aws.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = aws.credentials.secretAccessKey;
  Object.assign(env, {
    BLOBS: 's3',
    S3_BUCKET: bucket,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_REGION: aws.region,
    AWS_ENDPOINT_URL_S3: aws.endpoint,
  });
}

async function start(roles: Role[]): Promise<{ app: App; url: string }> {
  const app = await createApp(parseConfig(env), pino({ level: 'warn' }), roles);
  await app.start();
  if (!app.server) throw new Error('the API role did not start');
  await app.server.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: `http://127.0.0.1:${(app.server.server.address() as AddressInfo).port}` };
}

const token = await createLocalToken({ dataDir, userId: USER, ttlSeconds: 7200 });
const auth = { authorization: `Bearer ${token}` };
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

let started = performance.now();
const csv = generate(ROWS);
console.log(
  `generated ${ROWS.toLocaleString('en-US')} rows (${(csv.length / 1024 ** 2).toFixed(0)} MiB) in ${seconds(performance.now() - started)}`,
);

const scoring = await start(['api', 'worker']);
started = performance.now();
const form = new FormData();
form.append('file', new Blob([csv], { type: 'text/csv' }), 'customers.csv');
const uploaded = await fetch(`${scoring.url}/v1/uploads`, {
  method: 'POST',
  headers: auth,
  body: form,
});
if (uploaded.status !== 201) throw new Error(`upload answered ${uploaded.status}`);
const { id: uploadId } = (await uploaded.json()) as { id: string };
const created = await fetch(`${scoring.url}/v1/predictions`, {
  method: 'POST',
  headers: { ...auth, 'content-type': 'application/json' },
  body: JSON.stringify({ uploadId }),
});
const { id: predictionId } = (await created.json()) as { id: string };
for (;;) {
  const response = await fetch(`${scoring.url}/v1/predictions/${predictionId}`, { headers: auth });
  const { status } = (await response.json()) as { status: string };
  if (status === 'completed') break;
  if (status === 'failed') throw new Error('the prediction failed');
  await new Promise((resolve) => setTimeout(resolve, 200));
}
console.log(
  `uploaded and scored (worker path, index included) in ${seconds(performance.now() - started)}`,
);
const indexHead = await scoring.app.blobs.head(rowsIndexKey(USER, predictionId));
const resultsHead = await scoring.app.blobs.head(`users/${USER}/results/${predictionId}.csv`);
console.log(
  `results ${((resultsHead?.bytes ?? 0) / 1024 ** 2).toFixed(0)} MiB, rows index ${((indexHead?.bytes ?? 0) / 1024 ** 2).toFixed(1)} MiB`,
);
await scoring.app.close();

// A fresh API process: nothing of the index is cached.
const api = await start(['api']);
async function page(query: string): Promise<number> {
  const t = performance.now();
  const response = await fetch(`${api.url}/v1/predictions/${predictionId}/rows?${query}`, {
    headers: auth,
  });
  if (response.status !== 200) throw new Error(`${query} answered ${response.status}`);
  await response.json();
  return performance.now() - t;
}
const cursor = (offset: number) => Buffer.from(`o:${offset}`).toString('base64url');
const cold = await page('limit=50');

const queries: Array<[string, string]> = [
  ['first page, riskiest first', 'limit=50'],
  ['row 500,000, riskiest first', `limit=50&cursor=${cursor(500_000)}`],
  ['last page, least risky first', `limit=50&sort=probability_asc&cursor=${cursor(ROWS - 50)}`],
  ['high tier, 100,000 deep', `limit=50&tier=high&cursor=${cursor(100_000)}`],
  ['low tier, file order, 300,000 deep', `limit=50&tier=low&sort=row&cursor=${cursor(300_000)}`],
  ['id prefix "7590" (~140 rows)', 'limit=50&customerId=7590'],
  ['id prefix "9" + high tier, ascending', 'limit=50&customerId=9&tier=high&sort=probability_asc'],
  ['500 rows, riskiest first', `limit=500&cursor=${cursor(250_000)}`],
];
const rowsOut: string[] = [];
for (const [name, query] of queries) {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await page(query));
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  rowsOut.push(
    `| ${name.padEnd(38)} | ${at(0.5).toFixed(1).padStart(8)} | ${at(0.95).toFixed(1).padStart(8)} |`,
  );
}
console.log(`\n/rows on ${ROWS.toLocaleString('en-US')} rows, blobs=${BLOBS}, ${RUNS} runs each\n`);
console.log(`cold first page (fresh API, index not cached): ${cold.toFixed(0)} ms\n`);
console.log(`| warm page                              | p50 ms   | p95 ms   |`);
console.log(`|----------------------------------------|----------|----------|`);
for (const line of rowsOut) console.log(line);

await api.app.close();
await aws?.stop();
rmSync(dataDir, { recursive: true, force: true });
