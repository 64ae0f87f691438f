import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { int8AsNumber } from '../db/pg-int8.js';
import {
  invalidParameter,
  messageNotInFlight,
  QueueError,
  receiptHandleInvalid,
} from './errors.js';
import { NO_GROUP } from './fair-order.js';
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
import { parseEntries, splitResults } from './postgres-entries.js';
import { toQueueError } from './postgres-errors.js';
import { NotificationListener } from './postgres-listener.js';
import type { ClaimedRow, DeadLetterRow, DepthRow } from './postgres-sql.js';
import * as statements from './postgres-sql.js';
import { entryFailure, parseAttributes, parseReceipt, toReceived } from './sql-rows.js';
import {
  checkBatch,
  checkBatchSize,
  checkSend,
  checkVisibility,
  resolveReceive,
  resolveSettings,
} from './validation.js';

export interface PostgresQueueOptions {
  /** `postgres://...`; the queue's table lives in the connection's schema (its search_path). */
  readonly connectionString: string;
  readonly name?: string;
  readonly settings?: Partial<QueueSettings>;
  /** Connections for queue calls (default 4); long polls hold none while they wait. */
  readonly poolSize?: number;
  /**
   * How often a waiting receive checks the table even without a notification (default 1000 ms).
   * Notifications wake receivers at once; this only covers a lost listening connection.
   */
  readonly pollIntervalMs?: number;
  /** Milliseconds added to the database clock; lets tests move the queue's time forward. */
  readonly clockOffsetMs?: () => number;
}

interface OutgoingMessage {
  readonly messageId: string;
  readonly input: SendMessageInput;
  readonly delaySeconds: number;
}

const CAPABILITIES: QueueCapabilities = Object.freeze({
  rejectsStaleReceiptHandles: true,
  inProcessWakeup: true,
  exactStats: true,
  fairGroupOrder: true,
  groupInFlightCap: true,
});

/**
 * Messages a claim reads per group beyond those it wants: a claim racing another that has just
 * locked its first choices takes these instead of returning nothing (claims without a cap do
 * not take turns). Claims last a millisecond or two, so a few racing claims are the most seen.
 */
const CANDIDATE_SLACK = 8;

/**
 * The SQL job queue on PostgreSQL, for many worker processes on many machines: a receive claims
 * rows in one statement (FOR UPDATE SKIP LOCKED) and stamps them with a fresh receipt, so no two
 * receivers ever hold the same message; long polls wake on LISTEN/NOTIFY from any process.
 * The table is created on first use; `pg` is loaded only when this adapter is.
 */
export class PostgresJobQueue implements JobQueue {
  readonly capabilities = CAPABILITIES;
  readonly name: string;
  readonly deadLetterName: string;
  readonly settings: QueueSettings;
  private readonly pool: pg.Pool;
  private readonly listener: NotificationListener;
  private readonly pollIntervalMs: number;
  private readonly clockOffsetMs: () => number;
  private readonly closeController = new AbortController();
  private schemaReady: Promise<void> | undefined;
  private closed = false;

  constructor(options: PostgresQueueOptions) {
    this.name = options.name ?? 'predictions';
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(this.name)) {
      throw invalidParameter(
        `Queue name ${JSON.stringify(this.name)} is invalid: use 1-80 letters, digits, hyphens or underscores.`,
      );
    }
    this.deadLetterName = `${this.name}-dlq`;
    this.settings = resolveSettings(options.settings, DEFAULT_QUEUE_SETTINGS);
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.clockOffsetMs = options.clockOffsetMs ?? (() => 0);
    const clientConfig = {
      connectionString: options.connectionString,
      application_name: `churnline-queue-${this.name}`,
      types: int8AsNumber(pg.types),
      // An unreachable server fails a call (retryably) instead of hanging it for the OS timeout,
      // and keepalives notice a listening connection whose network path died silently.
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
    };
    this.pool = new pg.Pool({ ...clientConfig, max: options.poolSize ?? 4 });
    // An idle connection the server closed is dropped by the pool and the next call opens a new
    // one; without a listener node would treat the event as a crash.
    this.pool.on('error', () => {});
    this.listener = new NotificationListener(() => new pg.Client(clientConfig), this.name);
  }

  /** Runs one statement, creating the table first if this process has not yet. */
  private async query<Row extends object>(
    action: string,
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<Row>> {
    this.assertOpen();
    try {
      await this.schema();
      return await this.pool.query<Row>(text, values);
    } catch (error) {
      throw toQueueError(error, action);
    }
  }

  /** Creates the table (or brings it up to date) once per process. */
  private async schema(): Promise<void> {
    this.schemaReady ??= this.pool.query(statements.SCHEMA).then(() => undefined);
    await this.schemaReady.catch((error: unknown) => {
      this.schemaReady = undefined;
      throw error;
    });
  }

  /** The statements that read the clock take its offset as $1. */
  private timed<Row extends object>(action: string, text: string, values: unknown[]) {
    return this.query<Row>(action, text, [this.clockOffsetMs(), ...values]);
  }

  async send(input: SendMessageInput): Promise<SentMessage> {
    this.assertOpen();
    const outgoing = {
      messageId: randomUUID(),
      input,
      delaySeconds: checkSend(input, this.settings),
    };
    await this.insert([outgoing]);
    return { messageId: outgoing.messageId };
  }

  async sendBatch(entries: readonly SendBatchEntry[]): Promise<BatchResult<SentMessage>> {
    this.assertOpen();
    checkBatch(entries);
    checkBatchSize(entries, this.settings);
    const accepted: Array<OutgoingMessage & { id: string }> = [];
    const failed: BatchEntryFailure[] = [];
    for (const entry of entries) {
      try {
        const delaySeconds = checkSend(entry, this.settings);
        accepted.push({ id: entry.id, messageId: randomUUID(), input: entry, delaySeconds });
      } catch (error) {
        failed.push(entryFailure(entry.id, error));
      }
    }
    if (accepted.length > 0) await this.insert(accepted);
    return { successful: accepted.map(({ id, messageId }) => ({ id, messageId })), failed };
  }

  /** Inserts the messages in one statement (all or none) that also notifies on commit. */
  private async insert(messages: readonly OutgoingMessage[]): Promise<void> {
    await this.timed('send', statements.INSERT_MESSAGES, [
      this.name,
      this.settings.messageRetentionSeconds * 1000,
      messages.map((m) => m.messageId),
      messages.map((m) => m.input.body),
      messages.map(({ input }) =>
        input.attributes && Object.keys(input.attributes).length > 0
          ? JSON.stringify(input.attributes)
          : null,
      ),
      messages.map((m) => m.delaySeconds * 1000),
      messages.map((m) => m.input.groupId ?? NO_GROUP),
    ]);
    this.listener.wake();
  }

  async receive(options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    this.assertOpen();
    const { maxMessages, waitSeconds, visibilitySeconds } = resolveReceive(options, this.settings);
    return this.listener.longPoll({
      claim: () => (this.closed ? Promise.resolve([]) : this.claim(maxMessages, visibilitySeconds)),
      msUntilNextVisible: () => this.msUntilNextVisible(),
      waitMs: waitSeconds * 1000,
      pollIntervalMs: this.pollIntervalMs,
      signal: options.signal
        ? AbortSignal.any([options.signal, this.closeController.signal])
        : this.closeController.signal,
    });
  }

  private async msUntilNextVisible(): Promise<number | null> {
    const { rows } = await this.timed<{ wait_ms: number | null }>(
      'receive',
      statements.MS_UNTIL_NEXT_VISIBLE,
      [this.name],
    );
    return rows[0]?.wait_ms ?? null;
  }

  private async claim(max: number, visibilitySeconds: number): Promise<ReceivedMessage[]> {
    const messages: ReceivedMessage[] = [];
    // Messages past the receive limit go to the DLQ instead of out; claim again to fill the batch.
    for (let round = 0; messages.length < max && round < 100; round++) {
      const receipt = randomBytes(12).toString('base64url');
      const rows = await this.claimRound(max - messages.length, receipt, visibilitySeconds);
      const claimed = rows
        .filter((row) => !row.exhausted)
        .sort((a, b) => a.load - b.load || a.order_at - b.order_at || a.seq - b.seq);
      for (const row of claimed) messages.push(toReceived(row, `${row.seq}.${receipt}`));
      if (claimed.length === rows.length) break;
    }
    return messages;
  }

  /** One FAIR_CLAIM; with a cap per group, in a transaction that waits for other claims' turn. */
  private async claimRound(
    max: number,
    receipt: string,
    visibilitySeconds: number,
  ): Promise<ClaimedRow[]> {
    const cap = this.settings.maxInFlightPerGroup;
    const values = [
      this.clockOffsetMs(),
      this.name,
      this.settings.maxReceiveCount,
      max,
      this.deadLetterName,
      receipt,
      visibilitySeconds * 1000,
      this.settings.deadLetterRetentionSeconds * 1000,
      RECEIVE_LIMIT_REASON,
      cap,
      max + CANDIDATE_SLACK,
    ];
    if (cap === 0) {
      return (await this.query<ClaimedRow>('receive', statements.FAIR_CLAIM, values)).rows;
    }
    this.assertOpen();
    let client: pg.PoolClient | undefined;
    let failed = false;
    try {
      await this.schema();
      client = await this.pool.connect();
      await client.query('BEGIN');
      await client.query(statements.LOCK_CLAIMS, [this.name]);
      const { rows } = await client.query<ClaimedRow>(statements.FAIR_CLAIM, values);
      await client.query('COMMIT');
      return rows;
    } catch (error) {
      failed = true;
      await client?.query('ROLLBACK').catch(() => {});
      throw toQueueError(error, 'receive');
    } finally {
      // A connection that failed mid-transaction is closed rather than handed to the next call.
      client?.release(failed);
    }
  }

  async delete(receiptHandle: string): Promise<void> {
    const [failure] = (await this.deleteEntries([{ id: 'x', receiptHandle }])).failed;
    if (failure) throw receiptHandleInvalid();
  }

  async deleteBatch(
    entries: ReadonlyArray<{ id: string; receiptHandle: string }>,
  ): Promise<BatchResult> {
    this.assertOpen();
    checkBatch(entries);
    return this.deleteEntries(entries);
  }

  private async deleteEntries(
    entries: ReadonlyArray<{ id: string; receiptHandle: string }>,
  ): Promise<BatchResult> {
    this.assertOpen();
    const { parsed, failed } = parseEntries(entries);
    if (parsed.length === 0) return { successful: [], failed };
    const { rows } = await this.query<{ seq: number; receipt: string }>(
      'delete',
      statements.DELETE_BY_RECEIPT,
      [this.name, parsed.map((e) => e.seq), parsed.map((e) => e.receipt)],
    );
    const done = new Set(rows.map((row) => `${row.seq}.${row.receipt}`));
    if (rows.length > 0) await this.wakeForCappedGroups('delete');
    return splitResults(parsed, done, failed, () => receiptHandleInvalid());
  }

  /**
   * With a cap, a message leaving flight may let its group be given another: wake receivers in
   * every process, as a send does.
   */
  private async wakeForCappedGroups(action: string): Promise<void> {
    if (this.settings.maxInFlightPerGroup > 0) await this.notify(action);
  }

  async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    this.assertOpen();
    const visibilitySeconds = checkVisibility(seconds);
    const { failed } = await this.changeEntries([{ id: 'x', receiptHandle, visibilitySeconds }]);
    const failure = failed[0];
    if (failure) {
      throw failure.code === 'MessageNotInflight' ? messageNotInFlight() : receiptHandleInvalid();
    }
  }

  async changeVisibilityBatch(
    entries: ReadonlyArray<{ id: string; receiptHandle: string; visibilitySeconds: number }>,
  ): Promise<BatchResult> {
    this.assertOpen();
    checkBatch(entries);
    const valid: Array<(typeof entries)[number]> = [];
    const invalid: BatchEntryFailure[] = [];
    for (const entry of entries) {
      try {
        checkVisibility(entry.visibilitySeconds);
        valid.push(entry);
      } catch (error) {
        invalid.push(entryFailure(entry.id, error));
      }
    }
    const result = await this.changeEntries(valid);
    return { successful: result.successful, failed: [...invalid, ...result.failed] };
  }

  private async changeEntries(
    entries: ReadonlyArray<{ id: string; receiptHandle: string; visibilitySeconds: number }>,
  ): Promise<BatchResult> {
    const { parsed, failed } = parseEntries(entries);
    if (parsed.length === 0) return { successful: [], failed };
    const { rows } = await this.timed<{ seq: number; receipt: string }>(
      'change visibility',
      statements.CHANGE_VISIBILITY,
      [
        this.name,
        parsed.map((e) => e.seq),
        parsed.map((e) => e.receipt),
        parsed.map((e) => e.entry.visibilitySeconds * 1000),
      ],
    );
    const done = new Set(rows.map((row) => `${row.seq}.${row.receipt}`));
    const missed = parsed.filter((e) => !done.has(e.key));
    // A current receipt whose visibility already ran out is "not in flight", not "invalid".
    const current = new Set<string>();
    if (missed.length > 0) {
      const { rows: held } = await this.query<{ seq: number; receipt: string }>(
        'change visibility',
        statements.CURRENT_RECEIPTS,
        [this.name, missed.map((e) => e.seq), missed.map((e) => e.receipt)],
      );
      for (const row of held) current.add(`${row.seq}.${row.receipt}`);
    }
    if (parsed.some((e) => e.entry.visibilitySeconds === 0 && done.has(e.key))) {
      await this.notify('change visibility');
    }
    return splitResults(parsed, done, failed, (e) =>
      current.has(e.key) ? messageNotInFlight() : receiptHandleInvalid(),
    );
  }

  private async notify(action: string): Promise<void> {
    this.listener.wake();
    await this.query(action, statements.NOTIFY, [this.name]);
  }

  async moveToDeadLetter(receiptHandle: string, reason: string): Promise<void> {
    this.assertOpen();
    const { seq, receipt } = parseReceipt(receiptHandle);
    const { rowCount } = await this.timed(
      'move to dead-letter queue',
      statements.MOVE_TO_DEAD_LETTER,
      [
        this.name,
        seq,
        receipt,
        this.deadLetterName,
        this.settings.deadLetterRetentionSeconds * 1000,
        reason.slice(0, 1000) || 'rejected',
      ],
    );
    if (rowCount === 0) throw receiptHandleInvalid();
    await this.wakeForCappedGroups('move to dead-letter queue');
  }

  async stats(): Promise<QueueStats> {
    const { rows } = await this.timed<DepthRow>('stats', statements.DEPTH, [
      this.name,
      this.deadLetterName,
    ]);
    const depth = (queue: string): QueueDepth => {
      const row = rows.find((r) => r.queue === queue);
      return {
        visible: row?.visible ?? 0,
        inFlight: row?.in_flight ?? 0,
        delayed: row?.delayed ?? 0,
        oldestAgeSeconds:
          row?.oldest_age_ms == null ? null : Math.max(0, Math.floor(row.oldest_age_ms / 1000)),
      };
    };
    return { ...depth(this.name), deadLetter: depth(this.deadLetterName) };
  }

  async listDeadLetters(options: { max?: number } = {}): Promise<DeadLetter[]> {
    const { rows } = await this.timed<DeadLetterRow>(
      'list dead letters',
      statements.LIST_DEAD_LETTERS,
      [this.deadLetterName, options.max ?? 100],
    );
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
    const { rows } = await this.timed<{ moved: number }>('redrive', statements.REDRIVE, [
      this.deadLetterName,
      Number.isFinite(max) ? Math.floor(max) : null,
      this.name,
      this.settings.messageRetentionSeconds * 1000,
    ]);
    const moved = rows[0]?.moved ?? 0;
    if (moved > 0) await this.notify('redrive');
    return { moved };
  }

  async purgeExpired(): Promise<{ removed: number }> {
    const { rowCount } = await this.timed('purge expired', statements.PURGE_EXPIRED, [
      this.name,
      this.deadLetterName,
    ]);
    return { removed: rowCount ?? 0 };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closeController.abort();
    await this.listener.close();
    await this.pool.end();
  }

  private assertOpen(): void {
    if (this.closed) throw new QueueError('QueueClosed', `Queue ${this.name} is closed.`, false);
  }
}
