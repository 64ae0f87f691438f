import type pg from 'pg';
import { NOTIFY_CHANNEL } from './postgres-sql.js';

/** After a failed or lost listening connection, wait this long before connecting again. */
const RECONNECT_BACKOFF_MS = 1000;

/**
 * Wake-ups for the PostgreSQL queue's long polls. One dedicated connection LISTENs for the
 * notifications that sends in any process issue on commit; a send in this process wakes its own
 * waiters directly. Every wake-up bumps `generation`: a receive notes it before claiming and, if
 * it changed meanwhile, claims again instead of sleeping, so no wake-up falls between a claim and
 * the wait. Wake-ups are only hints (the claim decides who gets a message) and a lost listening
 * connection costs at most one poll interval.
 */
export class NotificationListener {
  generation = 0;
  private readonly waiters = new Set<() => void>();
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private retryAfter = 0;
  private closed = false;

  /**
   * @param createClient a new, unconnected client on the queue's database
   * @param payload the notification payload that concerns this queue (`<schema>.<queue>`), known
   *        once connected, since the schema is the connection's own
   */
  constructor(
    private readonly createClient: () => pg.Client,
    private readonly queueName: string,
  ) {}

  /** Wakes every waiter in this process. */
  wake(): void {
    this.generation++;
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves on the next wake-up, after `ms`, or when `signal` aborts, whichever is first. */
  wait(ms: number, signal: AbortSignal): Promise<void> {
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
  async ensureListening(): Promise<boolean> {
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
    const lost = () => {
      if (this.client === client) this.client = undefined;
      this.retryAfter = Date.now() + RECONNECT_BACKOFF_MS;
      // Anything sent while the connection was down went unheard: let the waiters look now.
      this.wake();
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
      this.retryAfter = Date.now() + RECONNECT_BACKOFF_MS;
      await client.end().catch(() => {});
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    await this.connecting;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}
