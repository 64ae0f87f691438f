/**
 * What the two SQL queues (SQLite and PostgreSQL) share: one table design, so one way to read a
 * claimed row, a receipt handle and a batch entry's failure. A receipt handle is
 * `<seq>.<receipt>`: the row and the random token its latest receive stamped on it, so a later
 * receive (a new token) supersedes every earlier handle.
 */
import { QueueError, receiptHandleInvalid } from './errors.js';
import type { BatchEntryFailure, MessageAttributes, ReceivedMessage } from './port.js';

/** A row as a claim returns it (timestamps in milliseconds since the epoch). */
export interface ClaimedMessageRow {
  seq: number;
  id: string;
  body: string;
  attributes: string | null;
  receive_count: number;
  sent_at: number;
  first_received_at: number;
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

export function toReceived(row: ClaimedMessageRow, receiptHandle: string): ReceivedMessage {
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
