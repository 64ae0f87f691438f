/**
 * Customer history is stored per prediction in buckets: every customer id (lower-cased, as the
 * rows index keys it) hashes to one of HISTORY_BUCKETS, and a prediction stores one database row
 * per bucket it has customers in, holding their rows, probabilities and tiers. A million-row
 * prediction writes about a thousand rows instead of a million, and a customer's timeline reads
 * one bucket per prediction through the index (user, bucket, time).
 */
import type { SortedIds } from './changes.js';

export const HISTORY_BUCKETS = 1024;

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

/** One bucket of a prediction's customers, as stored (`entries` is JSON of BucketEntries). */
export interface HistoryBucket {
  bucket: number;
  customers: number;
  entries: string;
}

/** Columns of a bucket: customer ids (lower-cased), rows from 0, ten-thousandths, tier codes. */
export interface BucketEntries {
  ids: string[];
  rows: number[];
  p: number[];
  t: number[];
}

/** Each scored customer once (its first scored row), grouped by bucket, in id order. */
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
  return [...buckets]
    .sort(([a], [b]) => a - b)
    .map(([bucket, entries]) => ({
      bucket,
      customers: entries.ids.length,
      entries: JSON.stringify(entries),
    }));
}
