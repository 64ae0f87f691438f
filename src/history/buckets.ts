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

/** One customer in a stored run: its row (from 0), probability in ten-thousandths, tier code. */
export type StoredScore = [row: number, probability: number, tier: number];

/*
 * A run is stored as JSON of `{ "<id>": [row, probability, tier], ... }`, so one customer is
 * found by searching the text for its key, without parsing the other 250: a timeline of a
 * customer scored many times reads a row per scoring at the speed of indexOf. The JSON is
 * written as bytes straight from the rows index's id text (no string per customer): a million
 * customers take a third of the time strings and JSON.stringify took (280 ms, not 800).
 */

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
  const text = Buffer.from(sorted.idText.buffer, sorted.idText.byteOffset, sorted.idText.length);
  // Positions in the id order of the customers kept, and each one's bucket.
  const kept = new Uint32Array(sorted.rows);
  const bucketOfKept = new Uint16Array(sorted.rows);
  let customers = 0;
  let lastStart = -1;
  let lastEnd = -1;
  for (let k = 0; k < sorted.rows; k++) {
    const row = sorted.idOrder[k] as number;
    const start = sorted.idStarts[k] as number;
    const end = sorted.idStarts[k + 1] as number;
    if (start === end || sorted.tiers[row] === 0) continue;
    // Equal ids are adjacent in the order, their rows ascending: keep the first scored.
    if (lastStart >= 0 && sameBytes(text, lastStart, lastEnd, start, end)) continue;
    lastStart = start;
    lastEnd = end;
    kept[customers] = k;
    bucketOfKept[customers] = bucketOfBytes(sorted.idText, start, end);
    customers++;
  }
  const span = spanFor(customers);
  // Customers by run, each run in id order (a stable counting sort on the run).
  const runs = HISTORY_BUCKETS / span;
  const runStarts = new Uint32Array(runs + 1);
  for (let i = 0; i < customers; i++)
    (runStarts[((bucketOfKept[i] as number) / span) | 0] as number)++;
  let total = 0;
  for (let r = 0; r <= runs; r++) {
    const count = runStarts[r] as number;
    runStarts[r] = total;
    total += count;
  }
  const byRun = new Uint32Array(customers);
  const next = runStarts.slice();
  for (let i = 0; i < customers; i++) {
    byRun[(next[((bucketOfKept[i] as number) / span) | 0] as number)++] = kept[i] as number;
  }
  const stored: HistoryBucket[] = [];
  for (let r = 0; r < runs; r++) {
    const from = runStarts[r] as number;
    const to = runStarts[r + 1] as number;
    if (from === to) continue;
    stored.push({
      bucket: r * span,
      span,
      customers: to - from,
      entries: encodeRun(sorted, text, byRun.subarray(from, to)),
    });
  }
  return stored;
}

function sameBytes(text: Buffer, a: number, aEnd: number, b: number, bEnd: number): boolean {
  if (aEnd - a !== bEnd - b) return false;
  for (let i = 0; i < aEnd - a; i++) if (text[a + i] !== text[b + i]) return false;
  return true;
}

/** Bytes that JSON must escape inside a string: the quote, the backslash, control characters. */
function needsEscape(text: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const byte = text[i] as number;
    if (byte < 0x20 || byte === 0x22 || byte === 0x5c) return true;
  }
  return false;
}

/** Writes a whole number (below 2^32) in decimal at `at`; returns where it ends. */
function writeDigits(out: Buffer, at: number, n: number): number {
  let digits = 1;
  for (let rest = n; rest >= 10; rest = (rest / 10) | 0) digits++;
  let end = at + digits;
  for (let rest = n; end > at; rest = Math.floor(rest / 10)) out[--end] = 0x30 + (rest % 10);
  return at + digits;
}

/** The run's JSON (see StoredScore) for the customers at `positions` of the id order. */
function encodeRun(sorted: SortedIds, text: Buffer, positions: Uint32Array): string {
  // Ids as they are, plus at most 34 bytes of punctuation and numbers each (escaping aside).
  let size = 2;
  for (const k of positions) {
    size += (sorted.idStarts[k + 1] as number) - (sorted.idStarts[k] as number) + 34;
  }
  let out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < positions.length; i++) {
    const k = positions[i] as number;
    const row = sorted.idOrder[k] as number;
    const start = sorted.idStarts[k] as number;
    const end = sorted.idStarts[k + 1] as number;
    out[at++] = i === 0 ? 0x7b : 0x2c; // { or ,
    if (needsEscape(text, start, end)) {
      const key = Buffer.from(JSON.stringify(text.toString('utf8', start, end)), 'utf8');
      // Escapes lengthen the id: grow to fit what is left.
      if (at + key.length + 34 * (positions.length - i) + 1 > out.length) {
        const grown = Buffer.allocUnsafe(out.length + key.length + 34 * (positions.length - i));
        out.copy(grown, 0, 0, at);
        out = grown;
      }
      at += key.copy(out, at);
    } else {
      // Valid UTF-8 with nothing to escape is already its JSON string's content.
      out[at++] = 0x22;
      for (let j = start; j < end; j++) out[at++] = text[j] as number;
      out[at++] = 0x22;
    }
    out[at++] = 0x3a; // :
    out[at++] = 0x5b; // [
    at = writeDigits(out, at, row);
    out[at++] = 0x2c;
    at = writeDigits(out, at, sorted.probabilities[row] as number);
    out[at++] = 0x2c;
    at = writeDigits(out, at, sorted.tiers[row] as number);
    out[at++] = 0x5d; // ]
  }
  out[at++] = 0x7d; // }
  return out.toString('utf8', 0, at);
}

/** The smallest run (of whole powers of two) that keeps rows near CUSTOMERS_PER_ROW customers. */
function spanFor(customers: number): number {
  const rows = Math.max(1, Math.min(HISTORY_BUCKETS, Math.ceil(customers / CUSTOMERS_PER_ROW)));
  // Runs are powers of two: the number of rows rounds up to one.
  return HISTORY_BUCKETS / 2 ** Math.ceil(Math.log2(rows));
}
