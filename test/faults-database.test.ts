/**
 * The database busy or restarted while jobs run. Embedded: another process holds SQLite's write
 * lock on the database and the queue file for longer than busy_timeout. Scale-out: every
 * connection of the run is terminated by the server (pg_terminate_backend, as a restart does)
 * and new ones are refused for a few seconds, through a TCP proxy in front of PostgreSQL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LocalAws, startLocalAws } from '../src/aws/test-support/local-aws.js';
import { stopGracefully } from './support/fault-processes.js';
import { type FaultSetup, startSetup } from './support/fault-setups.js';
import { checkInvariants, describeReport } from './support/invariants.js';
import { startWorkerProcess, submitCsv, waitForStatus } from './support/service.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

const telco = readFileSync(
  fileURLToPath(new URL('../data/telco-customer-churn.csv', import.meta.url)),
);
const PREDICTIONS = 6;

let aws: LocalAws;
const savedEnv = { ...process.env };
const children: ChildProcess[] = [];
const setups: FaultSetup[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  aws = await startLocalAws();
  process.env.AWS_ACCESS_KEY_ID = aws.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = aws.credentials.secretAccessKey;
});
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const setup of setups.splice(0)) await setup.stop();
  for (const proxy of proxies.splice(0)) await proxy.close();
});
afterAll(async () => {
  process.env = savedEnv;
  await aws?.stop();
});

/** Another process takes SQLite's write lock on each file and holds it for `ms`. */
async function holdWriteLocks(files: string[], ms: number): Promise<ChildProcess> {
  const holder = spawn(
    process.execPath,
    [
      '-e',
      `const Database = require('better-sqlite3');
       const held = ${JSON.stringify(files)}.map((file) => new Database(file));
       for (const db of held) db.exec('BEGIN IMMEDIATE');
       process.stdout.write('locked\\n');
       setTimeout(() => { for (const db of held) db.exec('COMMIT'); }, ${ms});`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(holder);
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
  });
  return holder;
}

describe('database faults', () => {
  it('embedded: SQLite locked by another writer past busy_timeout; every job still completes', async () => {
    const setup = await startSetup('embedded');
    setups.push(setup);
    const token = await setup.api.token('alice');
    const ids: string[] = [];
    for (let i = 0; i < PREDICTIONS; i++)
      ids.push((await submitCsv(setup.api, token, telco)).predictionId);
    const worker = startWorkerProcess(setup.env);
    children.push(worker);
    await waitForStatus(setup.api.url, token, ids[0] as string, ['completed'], 30_000);
    // 7 s: longer than the 5 s busy_timeout, so writers see SQLITE_BUSY, not just a wait.
    const holder = await holdWriteLocks(
      [path.join(setup.api.dataDir, 'churnline.db'), path.join(setup.api.dataDir, 'queue.db')],
      7000,
    );
    await new Promise((resolve) => holder.once('exit', resolve));
    const report = await checkInvariants({ ...setup.targets, timeoutMs: 60_000 });
    expect(await stopGracefully(worker)).toEqual({ code: 0, signal: null });
    expect(report).toMatchObject({ completed: PREDICTIONS, failed: 0, results: PREDICTIONS });
    console.log(`SQLite busy 7 s (embedded): ${describeReport(report)}`);
  }, 120_000);

  it('scale-out: PostgreSQL terminates every connection and is unreachable for 3 s; every job still completes', async () => {
    const server = new URL(inject('postgresUrl'));
    const proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port) });
    proxies.push(proxy);
    const setup = await startSetup('scale-out', {
      aws,
      databaseUrl: (url) => {
        const proxied = new URL(url);
        proxied.hostname = '127.0.0.1';
        proxied.port = String(proxy.port);
        return proxied.toString();
      },
    });
    setups.push(setup);
    const token = await setup.api.token('alice');
    const ids: string[] = [];
    for (let i = 0; i < PREDICTIONS; i++)
      ids.push((await submitCsv(setup.api, token, telco)).predictionId);
    const worker = startWorkerProcess(setup.env);
    children.push(worker);
    await waitForStatus(setup.api.url, token, ids[0] as string, ['completed'], 30_000);

    const admin = new pg.Client({ connectionString: server.toString() });
    await admin.connect();
    let terminated: number;
    try {
      // Two statements: in one, the planner may call pg_terminate_backend before the port filter
      // and end every connection on the shared server.
      const { rows } = await admin.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[])',
        [proxy.upstreamPorts()],
      );
      const pids = rows.map((row) => row.pid);
      await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
      terminated = pids.length;
    } finally {
      await admin.end();
    }
    await proxy.outage();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await proxy.restore();

    expect(terminated).toBeGreaterThan(0);
    const report = await checkInvariants({ ...setup.targets, timeoutMs: 60_000 });
    expect(await stopGracefully(worker)).toEqual({ code: 0, signal: null });
    expect(report).toMatchObject({ completed: PREDICTIONS, failed: 0, results: PREDICTIONS });
    console.log(
      `PostgreSQL restart (scale-out): ${terminated} connections terminated; ${describeReport(report)}`,
    );
  }, 120_000);
});
