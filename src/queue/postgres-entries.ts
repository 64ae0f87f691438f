/** Per-entry batch results of the PostgreSQL queue (receipt handles: see sql-rows.ts). */
import type { QueueError } from './errors.js';
import type { BatchEntryFailure, BatchResult } from './port.js';
import { entryFailure, parseReceipt } from './sql-rows.js';

export interface ParsedEntry<T> {
  entry: T;
  seq: number;
  receipt: string;
  key: string;
}

export function parseEntries<T extends { id: string; receiptHandle: string }>(
  entries: readonly T[],
) {
  const parsed: Array<ParsedEntry<T>> = [];
  const failed: BatchEntryFailure[] = [];
  for (const entry of entries) {
    try {
      const { seq, receipt } = parseReceipt(entry.receiptHandle);
      parsed.push({ entry, seq, receipt, key: `${seq}.${receipt}` });
    } catch (error) {
      failed.push(entryFailure(entry.id, error));
    }
  }
  return { parsed, failed };
}

export function splitResults<T extends { id: string }>(
  parsed: ReadonlyArray<ParsedEntry<T>>,
  done: ReadonlySet<string>,
  failed: BatchEntryFailure[],
  failure: (entry: ParsedEntry<T>) => QueueError,
): BatchResult {
  const successful: Array<{ id: string }> = [];
  for (const e of parsed) {
    if (done.has(e.key)) successful.push({ id: e.entry.id });
    else failed.push(entryFailure(e.entry.id, failure(e)));
  }
  return { successful, failed };
}
