/**
 * Customer history is stored per prediction in buckets: every customer id (lower-cased, as the
 * rows index keys it) hashes to one of HISTORY_BUCKETS, and a prediction stores its customers in
 * database rows of about CUSTOMERS_PER_ROW each, every row covering a run of `span` buckets (a
 * power of two, aligned): a million customers take 4,096 rows of one bucket each, 7,000 take 32
 * rows of 128, a hundred take one row of all 4,096. So a million-row prediction writes about four
 * thousand rows instead of a million, a small one a handful, and a customer's timeline reads one
 * row per prediction through the index (user, bucket, time): the row whose run holds its bucket.
 */
import type { SortedIds } from './changes.js';

export const HISTORY_BUCKETS = 4096;
/**
 * About this many customers a stored row: ~8 KB of JSON. A timeline reads one row per scoring;
 * rows of 1,000 customers (30 KB) made a customer page of 50 scorings cost 48 ms under load.
 */
const CUSTOMERS_PER_ROW = 250;

/** FNV-1a over the id's UTF-8 bytes: stable across processes, versions and engines. */
export function bucketOfBytes(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    hash ^= bytes[i] as number;
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % HISTORY_BUCKETS;
}

export function bucketOf(customerId: string): number {
  return bucketOfBytes(Buffer.from(customerId.toLowerCase(), 'utf8'));
}

/** A run of buckets of a prediction's customers, as stored (`entries`: see encodeRun). */
export interface HistoryBucket {
  /** The run's first bucket: a multiple of `span`. */
  bucket: number;
  /** How many buckets the run covers: a power of two from 1 to HISTORY_BUCKETS. */
  span: number;
  customers: number;
  entries: string;
}

/** The first buckets of every run that could hold `bucket`, one per span (1, 2, 4 ... 4096). */
export function runStartsHolding(bucket: number): number[] {
  const starts = new Set<number>();
  for (let span = 1; span <= HISTORY_BUCKETS; span *= 2) starts.add(bucket - (bucket % span));
  return [...starts];
}

/** Columns of a bucket: customer ids (lower-cased), rows from 0, ten-thousandths, tier codes. */
interface BucketEntries {
  ids: string[];
  rows: number[];
  p: number[];
  t: number[];
}

/** One customer in a stored run: its row (from 0), probability in ten-thousandths, tier code. */
export type StoredScore = [row: number, probability: number, tier: number];

/**
 * A run is stored as JSON of `{ "<id>": [row, probability, tier], ... }`, so one customer is
 * found by searching the text for its key, without parsing the other 250: a timeline of a
 * customer scored many times reads a row per scoring at the speed of indexOf.
 */
function encodeRun(entries: BucketEntries): string {
  const run: Record<string, StoredScore> = {};
  entries.ids.forEach((id, k) => {
    run[id] = [entries.rows[k] as number, entries.p[k] as number, entries.t[k] as number];
  });
  return JSON.stringify(run);
}

/** The customer's score in a stored run (`id` lower-cased), or undefined when it is not there. */
export function findInRun(entries: string, id: string): StoredScore | undefined {
  const key = `${JSON.stringify(id)}:[`;
  for (let at = entries.indexOf(key); at >= 0; at = entries.indexOf(key, at + 1)) {
    // A key starts after "{" or ","; elsewhere the text is the tail of another, escaped key.
    const before = entries[at - 1];
    if (before !== '{' && before !== ',') continue;
    const start = at + key.length - 1;
    return JSON.parse(entries.slice(start, entries.indexOf(']', start) + 1)) as StoredScore;
  }
  return undefined;
}

/** Each scored customer once (its first scored row), grouped in runs of buckets, in id order. */
export function historyBuckets(sorted: SortedIds): HistoryBucket[] {
  const buckets = new Map<number, BucketEntries>();
  const text = Buffer.from(sorted.idText.buffer, sorted.idText.byteOffset, sorted.idText.length);
  let lastStart = -1;
  let lastEnd = -1;
  for (let k = 0; k < sorted.rows; k++) {
    const row = sorted.idOrder[k] as number;
    const start = sorted.idStarts[k] as number;
    const end = sorted.idStarts[k + 1] as number;
    if (start === end || sorted.tiers[row] === 0) continue;
    // Equal ids are adjacent in the order, their rows ascending: keep the first scored.
    if (lastStart >= 0 && text.compare(text, lastStart, lastEnd, start, end) === 0) continue;
    lastStart = start;
    lastEnd = end;
    const bucket = bucketOfBytes(sorted.idText, start, end);
    let entries = buckets.get(bucket);
    if (!entries) {
      entries = { ids: [], rows: [], p: [], t: [] };
      buckets.set(bucket, entries);
    }
    entries.ids.push(text.toString('utf8', start, end));
    entries.rows.push(row);
    entries.p.push(sorted.probabilities[row] as number);
    entries.t.push(sorted.tiers[row] as number);
  }
  let customers = 0;
  for (const entries of buckets.values()) customers += entries.ids.length;
  const span = spanFor(customers);
  const runs = new Map<number, BucketEntries>();
  for (const [bucket, entries] of [...buckets].sort(([a], [b]) => a - b)) {
    const start = bucket - (bucket % span);
    const run = runs.get(start);
    if (!run) {
      runs.set(start, entries);
      continue;
    }
    run.ids.push(...entries.ids);
    run.rows.push(...entries.rows);
    run.p.push(...entries.p);
    run.t.push(...entries.t);
  }
  return [...runs].map(([bucket, entries]) => ({
    bucket,
    span,
    customers: entries.ids.length,
    entries: encodeRun(entries),
  }));
}

/** The smallest run (of whole powers of two) that keeps rows near CUSTOMERS_PER_ROW customers. */
function spanFor(customers: number): number {
  const rows = Math.max(1, Math.min(HISTORY_BUCKETS, Math.ceil(customers / CUSTOMERS_PER_ROW)));
  // Runs are powers of two: the number of rows rounds up to one.
  return HISTORY_BUCKETS / 2 ** Math.ceil(Math.log2(rows));
}
