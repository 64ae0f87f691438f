/**
 * The customer history (src/history): each completed prediction's customers, stored in hashed
 * buckets so that writing a million customers is about 4,000 rows and a customer's timeline
 * is one indexed read per prediction. Only completed, undeleted predictions are ever read back,
 * so rows written by an attempt that later fails, or left by one that crashed, are never seen.
 */
import type { Kysely } from 'kysely';
import { bucketOf, findInRun, type HistoryBucket, runStartsHolding } from '../history/buckets.js';
import type { Database } from './schema.js';

type Conn = Kysely<Database>;

/**
 * Rows per insert: 3,200 parameters, inside both engines' limits (SQLite 32,766, PostgreSQL
 * 65,535); fewer round trips matter on PostgreSQL, where 4,096 rows of ~8 KB are ~32 MB.
 */
const INSERT_BATCH = 400;

/** The latest completed prediction of the user with this model, other than `exceptId`. */
export async function previousPrediction(
  db: Conn,
  userId: string,
  modelId: string,
  exceptId: string,
): Promise<{ id: string; rowsIndexKey: string } | undefined> {
  const row = await db
    .selectFrom('predictions')
    .select(['id', 'rows_index_key'])
    .where('user_id', '=', userId)
    .where('model_id', '=', modelId)
    .where('status', '=', 'completed')
    .where('deleted_at', 'is', null)
    .where('rows_index_key', 'is not', null)
    .where('id', '!=', exceptId)
    .orderBy('completed_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? { id: row.id, rowsIndexKey: row.rows_index_key as string } : undefined;
}

/**
 * Inserts at once, each on a connection of its own: PostgreSQL compresses every stored run (TOAST),
 * which for five million customers (160 MB of runs) took 7.8 s on one connection and 3.1 s on two
 * (SQLite has one connection, so they simply take turns).
 */
const INSERTS_AT_ONCE = 2;

/** Stores a prediction's history, replacing any an earlier attempt left. */
export async function writeCustomerHistory(
  db: Conn,
  prediction: { id: string; userId: string; modelId: string; scoredAt: string },
  buckets: readonly HistoryBucket[],
): Promise<void> {
  await deleteCustomerHistory(db, prediction.id);
  let next = 0;
  let failed = false;
  const insertBatches = async () => {
    for (let at = next; at < buckets.length && !failed; at = next) {
      next += INSERT_BATCH;
      await db
        .insertInto('customer_history')
        .values(
          buckets.slice(at, at + INSERT_BATCH).map((bucket) => ({
            prediction_id: prediction.id,
            bucket: bucket.bucket,
            span: bucket.span,
            user_id: prediction.userId,
            model_id: prediction.modelId,
            scored_at: prediction.scoredAt,
            customers: bucket.customers,
            entries: bucket.entries,
          })),
        )
        .execute()
        .catch((error: unknown) => {
          failed = true;
          throw error;
        });
    }
  };
  // Every insert has ended before a failure is reported, so that removing what was written (the
  // caller's cleanup) cannot race an insert still running.
  const outcomes = await Promise.allSettled(Array.from({ length: INSERTS_AT_ONCE }, insertBatches));
  for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
}

export async function deleteCustomerHistory(db: Conn, predictionId: string): Promise<void> {
  await db.deleteFrom('customer_history').where('prediction_id', '=', predictionId).execute();
}

/** One scoring of a customer: which prediction, and what it said. */
export interface CustomerScore {
  predictionId: string;
  modelId: string;
  filename: string;
  scoredAt: string;
  /** The customer's row in that prediction's results, from 0. */
  row: number;
  /** Ten-thousandths, as written. */
  probability: number;
  /** Tier code: 1 high, 2 medium, 3 low. */
  tier: number;
}

/**
 * A customer's latest scorings, oldest first. With `more`, older ones exist, and the first of
 * `scores` is the one just before the window, kept so the window's first change can be told.
 */
export interface CustomerTimeline {
  scores: CustomerScore[];
  more: boolean;
}

/** Stored rows read per query at most, while looking for a customer's scorings. */
const SCAN_PAGE = 400;
/** At most this many stored rows are read for one timeline (a customer absent from most). */
const MAX_SCANNED = 5000;

/**
 * The customer's latest `limit` scorings (id ignoring case) by the user's completed predictions,
 * oldest first. Each prediction stores its customers in runs of buckets of one size; the runs
 * that can hold the customer's bucket start at one of 13 places (one per size). Each place is
 * read newest first through the index (user, bucket, time), so a read stops after the rows it
 * needs instead of sorting every scoring of the bucket. The first page of every place is one
 * query (under load, each await of a busy API waits its turn again); a place whose runs often
 * lack the customer (another of the bucket's customers was scored) is read on, page by page.
 */
export async function customerScores(
  db: Conn,
  userId: string,
  customerId: string,
  options: { modelId?: string; limit: number },
): Promise<CustomerTimeline> {
  const id = customerId.toLowerCase();
  const bucket = bucketOf(id);
  const wanted = options.limit + 1;
  const place = { db, userId, id, bucket, modelId: options.modelId };
  const starts = runStartsHolding(bucket);
  const [firstQuery, ...others] = starts.map((start) =>
    db.selectFrom(runsAt(place, start, undefined, wanted).as(`s${start}`)).selectAll(),
  );
  let union = firstQuery as NonNullable<typeof firstQuery>;
  for (const other of others) union = union.unionAll(other);
  const firstPages = await union.execute();
  const found: CustomerScore[] = [];
  for (const start of starts) {
    const rows = firstPages.filter((row) => row.bucket === start);
    const hits = scoresIn(rows, id);
    found.push(...hits);
    const last = rows.at(-1);
    if (rows.length === wanted && hits.length < wanted && last) {
      found.push(...(await readOn(place, start, last, wanted - hits.length, 2 * wanted)));
    }
  }
  found.sort((a, b) =>
    a.scoredAt === b.scoredAt
      ? b.predictionId.localeCompare(a.predictionId)
      : b.scoredAt.localeCompare(a.scoredAt),
  );
  return { scores: found.slice(0, wanted).reverse(), more: found.length > options.limit };
}

interface Place {
  db: Conn;
  userId: string;
  id: string;
  bucket: number;
  modelId: string | undefined;
}

interface After {
  scored_at: string;
  prediction_id: string;
}

/** The query for the runs at `start` that can hold the bucket, newest first, after `after`. */
function runsAt(place: Place, start: number, after: After | undefined, limit: number) {
  let query = place.db
    .selectFrom('customer_history as h')
    .innerJoin('predictions as p', 'p.id', 'h.prediction_id')
    .innerJoin('uploads as u', 'u.id', 'p.upload_id')
    .select(['h.bucket', 'h.prediction_id', 'h.model_id', 'h.scored_at', 'h.entries', 'u.filename'])
    .where('h.user_id', '=', place.userId)
    .where('h.bucket', '=', start)
    .where('h.span', '>', place.bucket - start)
    .where('p.status', '=', 'completed')
    .where('p.deleted_at', 'is', null);
  if (place.modelId !== undefined) query = query.where('h.model_id', '=', place.modelId);
  if (after) {
    const { scored_at: scoredAt, prediction_id: predictionId } = after;
    query = query.where((eb) =>
      eb.or([
        eb('h.scored_at', '<', scoredAt),
        eb.and([eb('h.scored_at', '=', scoredAt), eb('h.prediction_id', '<', predictionId)]),
      ]),
    );
  }
  return query.orderBy('h.scored_at', 'desc').orderBy('h.prediction_id', 'desc').limit(limit);
}

type RunRow = After & { model_id: string; entries: string; filename: string };

function scoresIn(rows: readonly RunRow[], id: string): CustomerScore[] {
  const found: CustomerScore[] = [];
  for (const row of rows) {
    const score = findInRun(row.entries, id);
    if (!score) continue;
    found.push({
      predictionId: row.prediction_id,
      modelId: row.model_id,
      filename: row.filename,
      scoredAt: row.scored_at,
      row: score[0],
      probability: score[1],
      tier: score[2],
    });
  }
  return found;
}

/** Up to `wanted` more of the customer's scorings at `start`, older than `after`. */
async function readOn(
  place: Place,
  start: number,
  after: After,
  wanted: number,
  firstPage: number,
): Promise<CustomerScore[]> {
  const found: CustomerScore[] = [];
  let page = firstPage;
  for (let scanned = 0; found.length < wanted && scanned < MAX_SCANNED; ) {
    const rows = await runsAt(place, start, after, page).execute();
    scanned += rows.length;
    found.push(...scoresIn(rows, place.id));
    const last = rows.at(-1);
    if (rows.length < page || !last) break;
    after = last;
    page = Math.min(SCAN_PAGE, page * 2);
  }
  return found;
}
