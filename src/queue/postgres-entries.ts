/**
 * Receipt handles and per-entry batch results of the PostgreSQL queue. A receipt handle is
 * `<seq>.<receipt>`: the row and the random token its latest receive stamped on it, so a later
 * receive (a new token) supersedes every earlier handle.
 */
import { QueueError, receiptHandleInvalid } from './errors.js';
import type { BatchEntryFailure, BatchResult, MessageAttributes, ReceivedMessage } from './port.js';
import type { ClaimedRow } from './postgres-sql.js';

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

export function parseReceipt(handle: string): { seq: number; receipt: string } {
  const dot = typeof handle === 'string' ? handle.indexOf('.') : -1;
  const seq = dot > 0 ? Number(handle.slice(0, dot)) : Number.NaN;
  if (!Number.isSafeInteger(seq) || seq <= 0) throw receiptHandleInvalid();
  return { seq, receipt: handle.slice(dot + 1) };
}

export function parseAttributes(json: string | null): MessageAttributes {
  return json === null ? {} : (JSON.parse(json) as MessageAttributes);
}

export function toReceived(row: ClaimedRow, receiptHandle: string): ReceivedMessage {
  return {
    messageId: row.id,
    receiptHandle,
    body: row.body,
    attributes: parseAttributes(row.attributes),
    receiveCount: row.receive_count,
    sentAt: new Date(row.sent_at),
    firstReceivedAt: new Date(row.first_received_at),
  };
}

export function entryFailure(id: string, error: unknown): BatchEntryFailure {
  if (error instanceof QueueError) {
    return { id, code: error.code, message: error.message, senderFault: !error.retryable };
  }
  return { id, code: 'InternalError', message: String(error), senderFault: false };
}
