import { randomBytes, randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { privateSqliteFile } from '../private-files.js';
import {
  invalidParameter,
  messageNotInFlight,
  QueueError,
  receiptHandleInvalid,
} from './errors.js';
import { NO_GROUP, pickFairly } from './fair-order.js';
import {
  type BatchEntryFailure,
  type BatchResult,
  DEFAULT_QUEUE_SETTINGS,
  type DeadLetter,
  type JobQueue,
  type QueueCapabilities,
  type QueueDepth,
  type QueueSettings,
  type QueueStats,
  RECEIVE_LIMIT_REASON,
  type ReceivedMessage,
  type ReceiveOptions,
  type SendBatchEntry,
  type SendMessageInput,
  type SentMessage,
} from './port.js';
import {
  type ClaimedMessageRow,
  entryFailure,
  parseAttributes,
  parseReceipt,
  toReceived,
} from './sql-rows.js';
import { addGroups, SqliteGroups } from './sqlite-groups.js';
import * as statements from './sqlite-sql.js';
import {
  checkBatch,
  checkBatchSize,
  checkSend,
  checkVisibility,
  resolveReceive,
  resolveSettings,
} from './validation.js';
import { waitForWake, wakeWaiters } from './wakeups.js';

export interface SqliteQueueOptions {
  /** Path of the database file (created with its folder), or an open better-sqlite3 handle to share. */
  readonly file: string | Database.Database;
  readonly name?: string;
  readonly settings?: Partial<QueueSettings>;
  /** How often a waiting receive checks for commits by other processes. */
  readonly pollIntervalMs?: number;
  /** Milliseconds since the epoch; injectable so tests can move time forward. */
  readonly now?: () => number;
}

interface DepthRow {
  visible: number | null;
  in_flight: number | null;
  delayed: number | null;
  oldest: number | null;
}

const CAPABILITIES: QueueCapabilities = Object.freeze({
  rejectsStaleReceiptHandles: true,
  inProcessWakeup: true,
  exactStats: true,
  fairGroupOrder: true,
  groupInFlightCap: true,
});

/**
 * The embedded queue: one SQLite table (WAL) holds the queue and its dead-letter queue. Every
 * receive is a single write transaction that claims rows and stamps them with a fresh receipt
 * token, so two processes on the same file can never hold the same message at once.
 */
export class SqliteJobQueue implements JobQueue {
  readonly capabilities = CAPABILITIES;
  readonly name: string;
  readonly deadLetterName: string;
  readonly settings: QueueSettings;
  private readonly db: Database.Database;
  private readonly ownsDb: boolean;
  private readonly wakeKey: string;
  private readonly pollIntervalMs: number;
  private readonly now: () => number;
  private closed = false;
  private readonly closeController = new AbortController();
  private readonly sql;
  private readonly groups: SqliteGroups;

  constructor(options: SqliteQueueOptions) {
    this.name = options.name ?? 'predictions';
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(this.name)) {
      throw invalidParameter(
        `Queue name ${JSON.stringify(this.name)} is invalid: use 1-80 letters, digits, hyphens or underscores.`,
      );
    }
    this.deadLetterName = `${this.name}-dlq`;
    this.settings = resolveSettings(options.settings, DEFAULT_QUEUE_SETTINGS);
    this.pollIntervalMs = options.pollIntervalMs ?? 50;
    this.now = options.now ?? Date.now;
    if (typeof options.file === 'string') {
      // Created owner-only: it holds signed job bodies.
      privateSqliteFile(options.file);
      this.db = new Database(options.file);
      this.ownsDb = true;
    } else {
      this.db = options.file;
      this.ownsDb = false;
    }
    for (const pragma of statements.PRAGMAS) this.db.pragma(pragma);
    this.db.exec(statements.SCHEMA);
    addGroups(this.db);
    this.wakeKey = `${this.db.name}\u0000${this.name}`;
    this.sql = this.prepare();
    this.groups = new SqliteGroups(this.db, this.name);
  }

  private prepare() {
    const db = this.db;
    return {
      insert: db.prepare(statements.INSERT),
      claim: db.prepare(statements.CLAIM),
      deadLetter: db.prepare(statements.DEAD_LETTER),
      deleteByReceipt: db.prepare(statements.DELETE_BY_RECEIPT),
      extend: db.prepare(statements.EXTEND),
      holdsReceipt: db.prepare(statements.HOLDS_RECEIPT),
      nextVisibleAt: db.prepare(statements.NEXT_VISIBLE_AT).pluck(),
      depth: db.prepare(statements.DEPTH),
      listDead: db.prepare(statements.LIST_DEAD),
      redrive: db.prepare(statements.REDRIVE),
      purge: db.prepare(statements.PURGE),
      dataVersion: db.prepare(statements.DATA_VERSION).pluck(),
    };
  }

  async send(input: SendMessageInput): Promise<SentMessage> {
    this.assertOpen();
    const sent = this.insert(input, checkSend(input, this.settings));
    wakeWaiters(this.wakeKey);
    return sent;
  }

  async sendBatch(entries: readonly SendBatchEntry[]): Promise<BatchResult<SentMessage>> {
    this.assertOpen();
    checkBatch(entries);
    checkBatchSize(entries, this.settings);
    const successful: Array<{ id: string; messageId: string }> = [];
    const failed: BatchEntryFailure[] = [];
    this.db.transaction(() => {
      for (const entry of entries) {
        try {
          const delay = checkSend(entry, this.settings);
          successful.push({ id: entry.id, ...this.insert(entry, delay) });
        } catch (error) {
          failed.push(entryFailure(entry.id, error));
        }
      }
    })();
    if (successful.length > 0) wakeWaiters(this.wakeKey);
    return { successful, failed };
  }

  private insert(input: SendMessageInput, delaySeconds: number): SentMessage {
    const now = this.now();
    const messageId = randomUUID();
    const attributes =
      input.attributes && Object.keys(input.attributes).length > 0
        ? JSON.stringify(input.attributes)
        : null;
    this.sql.insert.run(
      this.name,
      messageId,
      input.body,
      attributes,
      now,
      now + delaySeconds * 1000,
      now + this.settings.messageRetentionSeconds * 1000,
      input.groupId ?? NO_GROUP,
    );
    return { messageId };
  }

  async receive(options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    this.assertOpen();
    const { maxMessages, waitSeconds, visibilitySeconds } = resolveReceive(options, this.settings);
    const claim = () => (this.closed ? [] : this.claim(maxMessages, visibilitySeconds));
    const first = claim();
    if (first.length > 0 || waitSeconds === 0 || options.signal?.aborted) return first;

    const signal = options.signal
      ? AbortSignal.any([options.signal, this.closeController.signal])
      : this.closeController.signal;
    let dataVersion = this.sql.dataVersion.get() as number;
    let nextVisibleAt = this.nextVisibleAt();
    return waitForWake<ReceivedMessage[]>({
      key: this.wakeKey,
      waitMs: waitSeconds * 1000,
      pollMs: this.pollIntervalMs,
      signal,
      // In-process sends wake us at once; commits by other processes show up as a new data_version.
      // A wake that finds nothing (a delayed send, a claim by another receiver here) may still have
      // changed when the next message becomes visible, and this connection's own commits never
      // change data_version, so look again.
      onWake: () => {
        const got = claim();
        if (got.length === 0) nextVisibleAt = this.nextVisibleAt();
        return got;
      },
      onPoll: () => {
        if (this.closed) return [];
        const version = this.sql.dataVersion.get() as number;
        if (version === dataVersion && (nextVisibleAt === null || this.now() < nextVisibleAt)) {
          return undefined;
        }
        dataVersion = version;
        const got = claim();
        if (got.length === 0) nextVisibleAt = this.nextVisibleAt();
        return got;
      },
      onTimeout: claim,
    });
  }

  private nextVisibleAt(): number | null {
    const now = this.now();
    return (this.sql.nextVisibleAt.get(this.name, now, now) as number | null) ?? null;
  }

  private claim(max: number, visibilitySeconds: number): ReceivedMessage[] {
    return this.db
      .transaction(() => {
        const messages: ReceivedMessage[] = [];
        const now = this.now();
        // Rows past the receive limit go to the DLQ instead of out; claim again to fill the batch.
        for (let round = 0; messages.length < max && round < 100; round++) {
          const receipt = randomBytes(12).toString('base64url');
          const seqs = pickFairly(
            this.groups.states(now, max - messages.length, this.settings.maxInFlightPerGroup),
            max - messages.length,
            this.settings.maxInFlightPerGroup,
          );
          if (seqs.length === 0) break;
          const rows = seqs.map(
            (seq) =>
              this.sql.claim.get(
                receipt,
                now + visibilitySeconds * 1000,
                now,
                seq,
              ) as ClaimedMessageRow,
          );
          for (const row of rows) {
            if (row.receive_count > this.settings.maxReceiveCount) {
              this.moveRowToDeadLetter(row.seq, RECEIVE_LIMIT_REASON, now, 1);
            } else {
              messages.push(toReceived(row, `${row.seq}.${receipt}`));
            }
          }
        }
        return messages;
      })
      .immediate();
  }

  private moveRowToDeadLetter(seq: number, reason: string, now: number, uncount: number): void {
    this.sql.deadLetter.run(
      this.deadLetterName,
      now,
      this.settings.deadLetterRetentionSeconds * 1000,
      uncount,
      reason,
      seq,
    );
  }

  async delete(receiptHandle: string): Promise<void> {
    this.assertOpen();
    const { seq, receipt } = parseReceipt(receiptHandle);
    if (this.sql.deleteByReceipt.run(seq, receipt, this.name).changes === 0) {
      throw receiptHandleInvalid();
    }
    this.wakeForCappedGroups();
  }

  /**
   * With a cap, a message leaving flight may let its group be given another: wake receivers in
   * this process (other processes see the commit as a new data_version when they poll).
   */
  private wakeForCappedGroups(): void {
    if (this.settings.maxInFlightPerGroup > 0) wakeWaiters(this.wakeKey);
  }

  async deleteBatch(
    entries: ReadonlyArray<{ id: string; receiptHandle: string }>,
  ): Promise<BatchResult> {
    this.assertOpen();
    checkBatch(entries);
    const result = this.eachInTransaction(entries, (entry) => {
      const { seq, receipt } = parseReceipt(entry.receiptHandle);
      if (this.sql.deleteByReceipt.run(seq, receipt, this.name).changes === 0) {
        throw receiptHandleInvalid();
      }
    });
    if (result.successful.length > 0) this.wakeForCappedGroups();
    return result;
  }

  async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    this.assertOpen();
    this.extend(receiptHandle, checkVisibility(seconds));
  }

  async changeVisibilityBatch(
    entries: ReadonlyArray<{ id: string; receiptHandle: string; visibilitySeconds: number }>,
  ): Promise<BatchResult> {
    this.assertOpen();
    checkBatch(entries);
    return this.eachInTransaction(entries, (entry) =>
      this.extend(entry.receiptHandle, checkVisibility(entry.visibilitySeconds)),
    );
  }

  private extend(receiptHandle: string, seconds: number): void {
    const { seq, receipt } = parseReceipt(receiptHandle);
    const now = this.now();
    const changed = this.sql.extend.run(now + seconds * 1000, seq, receipt, this.name, now).changes;
    if (changed === 0) {
      throw this.sql.holdsReceipt.get(seq, receipt, this.name)
        ? messageNotInFlight()
        : receiptHandleInvalid();
    }
    if (seconds === 0) wakeWaiters(this.wakeKey);
  }

  private eachInTransaction<T extends { id: string }>(
    entries: readonly T[],
    apply: (entry: T) => void,
  ): BatchResult {
    const successful: Array<{ id: string }> = [];
    const failed: BatchEntryFailure[] = [];
    this.db.transaction(() => {
      for (const entry of entries) {
        try {
          apply(entry);
          successful.push({ id: entry.id });
        } catch (error) {
          failed.push(entryFailure(entry.id, error));
        }
      }
    })();
    return { successful, failed };
  }

  async moveToDeadLetter(receiptHandle: string, reason: string): Promise<void> {
    this.assertOpen();
    const { seq, receipt } = parseReceipt(receiptHandle);
    this.db
      .transaction(() => {
        if (!this.sql.holdsReceipt.get(seq, receipt, this.name)) throw receiptHandleInvalid();
        this.moveRowToDeadLetter(seq, reason.slice(0, 1000) || 'rejected', this.now(), 0);
      })
      .immediate();
    this.wakeForCappedGroups();
  }

  async stats(): Promise<QueueStats> {
    this.assertOpen();
    const now = this.now();
    return this.db.transaction(() => ({
      ...this.depth(this.name, now),
      deadLetter: this.depth(this.deadLetterName, now),
    }))();
  }

  private depth(queue: string, now: number): QueueDepth {
    const row = this.sql.depth.get({ queue, now }) as DepthRow;
    return {
      visible: row.visible ?? 0,
      inFlight: row.in_flight ?? 0,
      delayed: row.delayed ?? 0,
      oldestAgeSeconds:
        row.oldest === null ? null : Math.max(0, Math.floor((now - row.oldest) / 1000)),
    };
  }

  async listDeadLetters(options: { max?: number } = {}): Promise<DeadLetter[]> {
    this.assertOpen();
    const rows = this.sql.listDead.all(
      this.deadLetterName,
      this.now(),
      options.max ?? 100,
    ) as Array<{
      id: string;
      body: string;
      attributes: string | null;
      receive_count: number;
      sent_at: number;
      dead_letter_reason: string | null;
    }>;
    return rows.map((row) => ({
      messageId: row.id,
      body: row.body,
      attributes: parseAttributes(row.attributes),
      receiveCount: row.receive_count,
      sentAt: new Date(row.sent_at),
      reason: row.dead_letter_reason ?? RECEIVE_LIMIT_REASON,
    }));
  }

  async redriveDeadLetters(options: { max?: number } = {}): Promise<{ moved: number }> {
    this.assertOpen();
    const max = options.max ?? Number.POSITIVE_INFINITY;
    if (!(max >= 0)) throw invalidParameter(`max must be zero or more; got ${max}.`);
    const moved = this.db
      .transaction(() => {
        const now = this.now();
        const expires = now + this.settings.messageRetentionSeconds * 1000;
        let count = 0;
        while (count < max) {
          const changes = this.sql.redrive.run(
            this.name,
            randomUUID(),
            now,
            now,
            expires,
            this.deadLetterName,
            now,
          ).changes;
          if (changes === 0) break;
          count++;
        }
        return count;
      })
      .immediate();
    if (moved > 0) wakeWaiters(this.wakeKey);
    return { moved };
  }

  async purgeExpired(): Promise<{ removed: number }> {
    this.assertOpen();
    return {
      removed: this.sql.purge.run(this.name, this.deadLetterName, this.now()).changes,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closeController.abort();
    if (this.ownsDb) this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new QueueError('QueueClosed', `Queue ${this.name} is closed.`, false);
  }
}
