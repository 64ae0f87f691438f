import type { Db } from '../db/connect.js';
import { markOutboxFailed, markOutboxSent, pendingOutbox, pruneSentOutbox } from '../db/outbox.js';
import type { Logger } from '../log.js';
import { type JobQueue, QUEUE_LIMITS } from '../queue/port.js';

/**
 * How often the relay looks for rows no trigger announced: those a worker process wrote (webhook
 * deliveries; workers may not send to the queue themselves) and retries that came due. A look is
 * one indexed query for unsent rows; at 200 ms a webhook leaves a split deployment's API within
 * a fifth of a second of the worker's completing (1 s gave a median of 961 ms, bench:webhooks).
 */
const POLL_INTERVAL_MS = 200;

/**
 * Sends outbox rows to the queue after their transaction committed, and marks them sent. A crash
 * between the send and the mark sends a row twice: delivery is at least once and the worker is
 * idempotent. While the queue is unreachable rows wait here (and the backlog metric shows it).
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private failures = 0;
  private lastPrune = 0;

  constructor(
    private readonly options: { db: Db; queue: JobQueue; log: Logger; intervalMs?: number },
  ) {}

  start(): void {
    this.stopped = false;
    this.trigger();
  }

  /** Relays soon (coalesced with a run already going); called right after a job is committed. */
  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.relayAll()
      .then(() => undefined)
      .catch((error: unknown) => {
        this.failures++;
        this.options.log.warn(
          { err: error, failures: this.failures },
          'relaying jobs to the queue failed; will retry',
        );
      })
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.trigger();
          return;
        }
        const interval = this.options.intervalMs ?? POLL_INTERVAL_MS;
        const delay =
          this.failures === 0
            ? interval
            : Math.min(30_000, interval * 2 ** Math.min(this.failures, 5));
        this.timer = setTimeout(() => this.trigger(), delay);
        this.timer.unref();
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Sends every pending row, a batch at a time. Exposed for tests and one-shot tools. */
  async relayAll(): Promise<number> {
    const { db, queue, log } = this.options;
    await this.pruneHourly();
    let sent = 0;
    for (;;) {
      const rows = await pendingOutbox(db, QUEUE_LIMITS.maxBatchEntries);
      if (rows.length === 0) break;
      let result: Awaited<ReturnType<JobQueue['sendBatch']>>;
      try {
        result = await queue.sendBatch(
          rows.map((row) => ({
            id: `o${row.id}`,
            body: row.body,
            // The owner's user id (USER_ID_PATTERN: 1-128 of letters, digits and `_|@.:-`) is
            // always a valid group; rows from before owners were stored go in no group.
            ...(row.group_id === null ? {} : { groupId: row.group_id }),
          })),
        );
      } catch (error) {
        await markOutboxFailed(
          db,
          rows.map((row) => row.id),
          error instanceof Error ? error.message : String(error),
        );
        throw error;
      }
      const ok = result.successful.map((entry) => Number(entry.id.slice(1)));
      await markOutboxSent(db, ok);
      sent += ok.length;
      for (const failure of result.failed) {
        log.error(
          { outboxId: failure.id, code: failure.code },
          `queue refused a job: ${failure.message}`,
        );
      }
      await markOutboxFailed(
        db,
        result.failed.map((f) => Number(f.id.slice(1))),
        'refused by the queue',
      );
      this.failures = 0;
      if (result.failed.length > 0) break; // refused rows stay pending; retry on the next run
    }
    return sent;
  }

  /** Sent rows stay a day for inspection, then go, so the outbox does not grow forever. */
  private async pruneHourly(): Promise<void> {
    if (Date.now() - this.lastPrune < 3600_000) return;
    this.lastPrune = Date.now();
    const removed = await pruneSentOutbox(
      this.options.db,
      new Date(Date.now() - SENT_ROW_RETENTION_MS).toISOString(),
    );
    if (removed > 0) this.options.log.debug({ removed }, 'pruned sent outbox rows');
  }
}

const SENT_ROW_RETENTION_MS = 24 * 3600_000;
