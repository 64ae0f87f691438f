/**
 * One repetition of bench:sqlite-driver with one driver, in a fresh process and fresh database
 * files: prints one JSON line of milliseconds per case. Run by run.ts, under the Node it was
 * asked for; `--binding` is a better-sqlite3 addon built for that Node.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { SQLITE_PRAGMAS } from '../../src/db/connect.js';
import { writeCustomerHistory } from '../../src/db/customer-history.js';
import { migrateToLatest } from '../../src/db/migrations.js';
import { insertPrediction, listPredictions } from '../../src/db/predictions.js';
import { type Database, nowIso } from '../../src/db/schema.js';
import { insertUpload } from '../../src/db/uploads.js';
import type { HistoryBucket } from '../../src/history/buckets.js';
import { type ClaimedMessageRow, parseReceipt, toReceived } from '../../src/queue/sql-rows.js';
import * as queueSql from '../../src/queue/sqlite-sql.js';
import { type Driver, type DriverId, openBetterSqlite3, openNodeSqlite } from './drivers.js';
import { loadNodeSqlite } from './node-sqlite.js';

export interface Sizes {
  cycles: number;
  predictions: number;
  pages: number;
  historyRows: number;
}

export interface ChildResult {
  driver: DriverId;
  node: string;
  sqlite: string;
  /** Milliseconds per case id. */
  ms: Record<string, number>;
}

const flag = (name: string): string | undefined => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? undefined : process.argv[at + 1];
};
const driverId = flag('driver') as DriverId;
const dir = flag('dir') as string;
const binding = flag('binding');
const sizes = JSON.parse(flag('sizes') as string) as Sizes;

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

function open(file: string, pragmas: readonly string[]): Driver {
  if (driverId === 'better-sqlite3') return openBetterSqlite3(file, pragmas, binding);
  const sqlite = loadNodeSqlite();
  if (sqlite instanceof Error) throw sqlite;
  return openNodeSqlite(file, pragmas, sqlite);
}

const ms: Record<string, number> = {};
function time<T>(id: string, fn: () => T): T {
  const started = performance.now();
  const result = fn();
  ms[id] = performance.now() - started;
  return result;
}
async function timeAsync<T>(id: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await fn();
  ms[id] = performance.now() - started;
  return result;
}

// (a) The queue's send + receive + delete, one message at a time, with the queue's own schema,
// pragmas and SQL (src/queue/sqlite-sql.ts) and its per-message work (ids, receipts, rows).
const queue = open(path.join(dir, 'queue.db'), queueSql.PRAGMAS);
queue.exec(queueSql.SCHEMA);
queue.exec(queueSql.GROUP_INDEX);
const q = {
  insert: queue.prepare(queueSql.INSERT),
  inFlight: queue.prepare(queueSql.IN_FLIGHT_BY_GROUP),
  groupHeads: queue.prepare(queueSql.GROUP_HEADS),
  claim: queue.prepare(queueSql.CLAIM),
  deleteByReceipt: queue.prepare(queueSql.DELETE_BY_RECEIPT),
};
const jobBody = JSON.stringify({ v: 1, job: 'score', pad: 'x'.repeat(400) });
function queueCycle(): void {
  const now = Date.now();
  q.insert.run('predictions', randomUUID(), jobBody, null, now, now, now + 345_600_000, 'bench');
  const received = queue.transaction(() => {
    // The fair claim's reads (sqlite-groups.ts), then the claim of the chosen message.
    q.inFlight.all('predictions', now);
    const [head] = q.groupHeads.all({ queue: 'predictions', now }) as Array<{ seq: number }>;
    if (!head) return [];
    const receipt = randomBytes(12).toString('base64url');
    const rows = q.claim.all(receipt, now + 30_000, now, head.seq);
    return (rows as ClaimedMessageRow[]).map((row) => toReceived(row, `${row.seq}.${receipt}`));
  }, true);
  if (received.length !== 1) throw new Error(`received ${received.length} messages, not 1`);
  for (const message of received) {
    const { seq, receipt } = parseReceipt(message.receiptHandle);
    if (Number(q.deleteByReceipt.run(seq, receipt, 'predictions').changes) !== 1) {
      throw new Error('the delete matched no message');
    }
  }
}
for (let i = 0; i < 200; i++) queueCycle();
time('queue', () => {
  for (let i = 0; i < sizes.cycles; i++) queueCycle();
});
queue.close();

// The service's database through Kysely: open and migrate, as src/db/connect.ts does.
let db!: Kysely<Database>;
let driver!: Driver;
await timeAsync('open', async () => {
  driver = open(path.join(dir, 'churnline.db'), SQLITE_PRAGMAS);
  db = driver.kysely();
  await migrateToLatest(db as Kysely<unknown>, { dialect: 'sqlite' });
});

// (b) Prediction rows written by the repository's insertPrediction, 1,000 in one transaction,
// then pages of 50 by the user's index (listPredictions, the GET /v1/predictions query).
const uploadId = randomUUID();
await insertUpload(db, {
  id: uploadId,
  user_id: 'bench',
  filename: 'customers.csv',
  object_key: `users/bench/uploads/${uploadId}.csv`,
  bytes: 1_000_000,
  sha256: 'f'.repeat(64),
  row_count: 7043,
  created_at: nowIso(),
  deleted_at: null,
});
const insertPredictions = (count: number) =>
  db.transaction().execute(async (trx) => {
    for (let i = 0; i < count; i++) {
      const now = nowIso();
      await insertPrediction(trx, {
        id: randomUUID(),
        user_id: 'bench',
        upload_id: uploadId,
        model_id: 'telco-v1',
        status: 'queued',
        attempts: 0,
        rows_scored: null,
        rows_failed: null,
        summary: null,
        result_key: null,
        error_code: null,
        error_message: null,
        created_at: now,
        started_at: null,
        completed_at: null,
        updated_at: now,
        deleted_at: null,
      });
    }
  });
const pages = async (count: number) => {
  for (let i = 0; i < count; i++) {
    const page = await listPredictions(db, 'bench', { limit: 50 });
    if (page.length !== 50) throw new Error(`a page of ${page.length} rows, not 50`);
  }
};
await insertPredictions(100);
await pages(20);
await timeAsync('predictions', () => insertPredictions(sizes.predictions));
await timeAsync('pages', () => pages(sizes.pages));

// (c) customer_history's write pattern: 400-row INSERTs, 100,000 rows in one transaction, by the
// repository's writeCustomerHistory (Kysely) and by one prepared 400-row statement (the driver).
const entries = (i: number) =>
  `${String(i).padStart(7, '0')}-SYNTH:${'0123456789abcdef'.repeat(12)}`;
const buckets: HistoryBucket[] = Array.from({ length: sizes.historyRows }, (_, i) => ({
  bucket: i,
  span: 1,
  customers: 250,
  entries: entries(i),
}));
const prediction = { id: randomUUID(), userId: 'bench', modelId: 'telco-v1', scoredAt: nowIso() };
await db
  .transaction()
  .execute((trx) =>
    writeCustomerHistory(trx, { ...prediction, id: 'warm-up' }, buckets.slice(0, 400)),
  );
await timeAsync('historyKysely', () =>
  db.transaction().execute((trx) => writeCustomerHistory(trx, prediction, buckets)),
);

const BATCH = 400;
const rowSql = '(?, ?, ?, ?, ?, ?, ?, ?)';
const insertHistory = driver.prepare(
  `INSERT INTO customer_history (prediction_id, bucket, span, user_id, model_id, scored_at, customers, entries) VALUES ${Array(BATCH).fill(rowSql).join(', ')}`,
);
const rawId = randomUUID();
time('historyRaw', () =>
  driver.transaction(() => {
    const parameters: unknown[] = [];
    for (let at = 0; at + BATCH <= buckets.length; at += BATCH) {
      parameters.length = 0;
      for (const b of buckets.slice(at, at + BATCH)) {
        parameters.push(
          rawId,
          b.bucket,
          b.span,
          'bench',
          'telco-v1',
          prediction.scoredAt,
          b.customers,
          b.entries,
        );
      }
      insertHistory.run(...parameters);
    }
  }),
);
const [{ rows } = { rows: 0 }] = await db
  .selectFrom('customer_history')
  .select((eb) => eb.fn.countAll<number>().as('rows'))
  .where('prediction_id', 'in', [prediction.id, rawId])
  .execute();
if (Number(rows) !== sizes.historyRows + Math.floor(sizes.historyRows / BATCH) * BATCH) {
  throw new Error(`customer_history holds ${rows} rows of the two writes`);
}
const [version] = driver.prepare('SELECT sqlite_version() AS v').all() as Array<{ v: string }>;
await db.destroy();
rmSync(dir, { recursive: true, force: true });

const result: ChildResult = {
  driver: driverId,
  node: process.version,
  sqlite: version?.v ?? '?',
  ms,
};
console.log(JSON.stringify(result));
