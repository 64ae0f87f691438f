import type pg from 'pg';
import { NOTIFY_CHANNEL } from './postgres-sql.js';

/** After a failed or lost listening connection, wait this long before connecting again. */
const RECONNECT_BACKOFF_MS = 1000;

export interface LongPollOptions<T> {
  /** One atomic claim; an empty array when nothing is receivable now. */
  readonly claim: () => Promise<T[]>;
  /** Milliseconds until the next hidden message becomes visible, or null when there is none. */
  readonly msUntilNextVisible: () => Promise<number | null>;
  readonly waitMs: number;
  readonly pollIntervalMs: number;
  readonly signal: AbortSignal;
}

/**
 * Wake-ups for the PostgreSQL queue's long polls. One dedicated connection LISTENs for the
 * notifications that sends in any process issue on commit; a send in this process wakes its own
 * waiters directly. Every wake-up bumps `generation`: a receive notes it before claiming and, if
 * it changed meanwhile, claims again instead of sleeping, so no wake-up falls between a claim and
 * the wait. Wake-ups are only hints (the claim decides who gets a message); while the listening
 * connection is lost, waiters hear of sends at the next poll or when it is back after a 1 s
 * back-off, whichever comes first.
 */
export class NotificationListener {
  private generation = 0;
  private readonly waiters = new Set<() => void>();
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private retryAfter = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;

  /**
   * @param createClient a new, unconnected client on the queue's database
   * @param queueName notifications for `<the connection's schema>.<queueName>` concern this queue
   */
  constructor(
    private readonly createClient: () => pg.Client,
    private readonly queueName: string,
  ) {}

  /**
   * Claims until messages come, the wait is over, or the signal aborts. Between claims it sleeps
   * until a wake-up, the next poll, or the moment a hidden message becomes visible again.
   */
  async longPoll<T>(options: LongPollOptions<T>): Promise<T[]> {
    const deadline = performance.now() + options.waitMs;
    for (;;) {
      const seen = this.generation;
      const got = await options.claim();
      const remaining = deadline - performance.now();
      if (got.length > 0 || remaining <= 0 || options.signal.aborted) return got;
      // Sends that committed before the listening connection was up were not heard: claim again.
      if (await this.ensureListening()) continue;
      if (seen === this.generation) {
        const nextVisibleMs = (await options.msUntilNextVisible()) ?? Number.POSITIVE_INFINITY;
        await this.wait(Math.min(remaining, options.pollIntervalMs, nextVisibleMs), options.signal);
      }
      if (options.signal.aborted) return [];
    }
  }

  /** Wakes every waiter in this process. */
  wake(): void {
    this.generation++;
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves on the next wake-up, after `ms`, or when `signal` aborts, whichever is first. */
  private wait(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal.addEventListener('abort', done, { once: true });
      this.waiters.add(done);
    });
  }

  /**
   * Makes sure the listening connection is up; returns true when it was just (re)established,
   * since notifications sent before that were not heard. Never throws: without a listener the
   * waiters fall back to polling, and the next call tries again after a back-off.
   */
  private async ensureListening(): Promise<boolean> {
    if (this.client || this.closed || Date.now() < this.retryAfter) return false;
    if (this.connecting) {
      await this.connecting;
      return true;
    }
    this.connecting = this.connect().finally(() => {
      this.connecting = undefined;
    });
    await this.connecting;
    return true;
  }

  private async connect(): Promise<void> {
    const client = this.createClient();
    let lostAlready = false;
    const lost = () => {
      if (lostAlready) return;
      lostAlready = true;
      if (this.client === client) this.client = undefined;
      this.retryAfter = Date.now() + RECONNECT_BACKOFF_MS;
      if (this.closed) return;
      // Anything sent while the connection was down went unheard: let the waiters look now.
      this.wake();
      this.scheduleReconnect();
    };
    // A listening connection that breaks must not crash the process: it is re-established later.
    client.on('error', lost);
    client.on('end', lost);
    try {
      await client.connect();
      const { rows } = await client.query<{ payload: string }>(
        `SELECT current_schema() || '.' || $1::text AS payload`,
        [this.queueName],
      );
      const payload = rows[0]?.payload;
      client.on('notification', (message) => {
        if (message.channel === NOTIFY_CHANNEL && message.payload === payload) this.wake();
      });
      await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
      if (this.closed) {
        await client.end();
        return;
      }
      this.client = client;
    } catch {
      lost();
      await client.end().catch(() => {});
    }
  }

  /**
   * While receives are waiting, a lost listening connection is re-established after the back-off
   * rather than at their next poll, which may be far off; success wakes them, since whatever was
   * sent meanwhile went unheard.
   */
  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.closed) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closed || this.waiters.size === 0) return;
      void this.ensureListening().then((reconnected) => {
        if (reconnected) this.wake();
      });
    }, RECONNECT_BACKOFF_MS);
    // Only waiting receives need it; it must not keep an otherwise finished process alive.
    this.reconnectTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.wake();
    await this.connecting;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}
