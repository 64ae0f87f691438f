import type { Db } from '../db/connect.js';
import { outboxBacklog } from '../db/outbox.js';
import type { Logger } from '../log.js';
import type { JobQueue, QueueStats } from '../queue/port.js';
import type { AlarmState, Alarms } from './alarms.js';
import type { DependencyChecks } from './dependencies.js';
import type { Metrics } from './metrics.js';

export interface Snapshot {
  readonly at: string;
  /** Null where this process does not watch the queue. */
  readonly queue: QueueStats | null;
  readonly outboxPending: number;
  readonly alarms: AlarmState[];
}

/**
 * Takes a periodic snapshot of the queue and outbox, feeds the gauges and evaluates the alarms.
 * Health endpoints read the latest snapshot instead of querying the backends on every probe.
 */
export class Monitor {
  private timer: NodeJS.Timeout | undefined;
  private latest: Snapshot | undefined;
  private lastError: unknown;

  constructor(
    private readonly deps: {
      db: Db;
      /**
       * Watched by processes that run workers; an API-only process leaves it out, since on SQS
       * the API's role may only send (no GetQueueAttributes).
       */
      queue: JobQueue | undefined;
      metrics: Metrics;
      alarms: Alarms;
      log: Logger;
      intervalMs: number;
      /** Re-checked on each tick (it throttles itself), for readiness and /healthz. */
      dependencies?: DependencyChecks;
    },
  ) {}

  get snapshot(): Snapshot | undefined {
    return this.latest;
  }

  get error(): unknown {
    return this.lastError;
  }

  async start(): Promise<void> {
    await this.observe();
    this.timer = setInterval(() => void this.observe(), this.deps.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async observe(): Promise<Snapshot | undefined> {
    const { db, queue, metrics, alarms, log } = this.deps;
    await this.deps.dependencies?.refresh();
    try {
      const [stats, outbox] = await Promise.all([queue?.stats(), outboxBacklog(db)]);
      if (stats) metrics.recordQueueStats(stats);
      metrics.outboxPending.set(outbox.pending);
      const states = await alarms.evaluate({
        ...(stats ? { queue: stats } : {}),
        outboxPending: outbox.pending,
      });
      for (const state of states)
        metrics.alarmActive.set({ alarm: state.name }, state.active ? 1 : 0);
      this.latest = {
        at: new Date().toISOString(),
        queue: stats ?? null,
        outboxPending: outbox.pending,
        alarms: states,
      };
      this.lastError = undefined;
    } catch (error) {
      this.lastError = error;
      log.warn({ err: error }, 'monitoring could not read the queue or the outbox');
    }
    return this.latest;
  }
}
