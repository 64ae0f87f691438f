/**
 * The database busy or restarted while jobs run. Embedded: another process holds SQLite's write
 * lock on the database and the queue file for longer than busy_timeout. Scale-out: every
 * connection of the run is terminated by the server (pg_terminate_backend, as a restart does)
 * and new ones are refused for a few seconds, through a TCP proxy in front of PostgreSQL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import type { Db } from '../src/db/connect.js';
import { useFaultHarness } from './support/fault-harness.js';
import { stopGracefully } from './support/fault-processes.js';
import { checkInvariants, describeReport } from './support/invariants.js';
import { startWorkerProcess, submitCsv, waitForStatus } from './support/service.js';
import { startTcpProxy } from './support/tcp-proxy.js';
import { telcoCsv as telco } from './support/telco.js';

const PREDICTIONS = 6;
const TERMINAL = new Set(['completed', 'failed']);

const harness = useFaultHarness();
const { track } = harness;

/** How many predictions are not terminal yet: the jobs a fault starting now reaches. */
async function unfinished(db: Db): Promise<number> {
  const rows = await db.selectFrom('predictions').select('status').execute();
  return rows.filter((row) => !TERMINAL.has(row.status)).length;
}

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
  track(holder);
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
  });
  return holder;
}

describe('database faults', () => {
  it('embedded: SQLite locked by another writer past busy_timeout; every job still completes', async () => {
    const setup = await harness.setup('embedded');
    const token = await setup.api.token('alice');
    const ids: string[] = [];
    for (let i = 0; i < PREDICTIONS; i++)
      ids.push((await submitCsv(setup.api, token, telco)).predictionId);
    const worker = track(startWorkerProcess(setup.env));
    await waitForStatus(setup.api.url, token, ids[0] as string, ['completed'], 30_000);
    // 7 s: longer than the 5 s busy_timeout, so writers see SQLITE_BUSY, not just a wait.
    const holder = await holdWriteLocks(
      [path.join(setup.api.dataDir, 'churnline.db'), path.join(setup.api.dataDir, 'queue.db')],
      7000,
    );
    // Read while the lock is held (WAL: readers do not wait for the writer). A prediction not
    // terminal now needs a write that the lock holds up; with none, the fault touched no job.
    const reached = await unfinished(setup.targets.db);
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(reached).toBeGreaterThan(0);
    const report = await checkInvariants({ ...setup.targets, timeoutMs: 60_000 });
    expect(await stopGracefully(worker)).toEqual({ code: 0, signal: null });
    expect(report).toMatchObject({ completed: PREDICTIONS, failed: 0, results: PREDICTIONS });
    console.log(
      `SQLite busy 7 s (embedded): ${reached} unfinished when locked; ${describeReport(report)}`,
    );
  }, 120_000);

  it('scale-out: PostgreSQL terminates every connection and is unreachable for 3 s; every job still completes', async () => {
    const server = new URL(inject('postgresUrl'));
    const proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port) });
    harness.afterTest(() => proxy.close());
    const setup = await harness.setup('scale-out', {
      databaseUrl: (url) => {
        const proxied = new URL(url);
        proxied.hostname = '127.0.0.1';
        proxied.port = String(proxy.port);
        return proxied.toString();
      },
    });
    const schema = setup.schema;
    if (!schema) throw new Error('the scale-out setup names its schema');
    const token = await setup.api.token('alice');
    const ids: string[] = [];
    for (let i = 0; i < PREDICTIONS; i++)
      ids.push((await submitCsv(setup.api, token, telco)).predictionId);
    const worker = track(startWorkerProcess(setup.env));
    await waitForStatus(setup.api.url, token, ids[0] as string, ['completed'], 30_000);

    // Straight to the server, not through the proxy: it survives the termination and the outage.
    const admin = new pg.Client({ connectionString: server.toString() });
    await admin.connect();
    let terminated: number;
    let reached: number;
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
      await proxy.outage();
      // Read once the run cannot reach the database: a prediction not terminal now must still
      // write its completion through the outage; with none, the fault touched no job.
      const { rows: statuses } = await admin.query<{ status: string }>(
        `SELECT status FROM ${schema}.predictions`,
      );
      reached = statuses.filter((row) => !TERMINAL.has(row.status)).length;
    } finally {
      await admin.end();
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await proxy.restore();

    expect(terminated).toBeGreaterThan(0);
    expect(reached).toBeGreaterThan(0);
    const report = await checkInvariants({ ...setup.targets, timeoutMs: 60_000 });
    expect(await stopGracefully(worker)).toEqual({ code: 0, signal: null });
    expect(report).toMatchObject({ completed: PREDICTIONS, failed: 0, results: PREDICTIONS });
    console.log(
      `PostgreSQL restart (scale-out): ${terminated} connections terminated, ${reached} predictions unfinished; ${describeReport(report)}`,
    );
  }, 120_000);
});
