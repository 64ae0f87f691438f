import PgBoss from 'pg-boss';
import type { JobPayload } from '../payload.js';
import {
  type ConsumeOptions,
  type Endpoints,
  type Listener,
  now,
  type QueueSystem,
  type StartConsuming,
} from './system.js';

/** pg-boss's smallest allowed worker polling interval (v10 refuses anything shorter). */
const MIN_POLLING_SECONDS = 0.5;

/**
 * pg-boss 10 on PostgreSQL. Throughput uses `fetch({ batchSize })` + `complete(ids)`: `work()`
 * waits out its polling interval after every batch, which would cap it at batchSize jobs per
 * 0.5 s. Wake-up latency uses `work()`, pg-boss's only way to wait for a job.
 */
export class PgBossSystem implements QueueSystem {
  readonly id = 'pgboss' as const;
  readonly crossProcessPollMs = MIN_POLLING_SECONDS * 1000;
  private readonly boss: PgBoss;
  private started: Promise<unknown> | undefined;

  /** `owner`: the one process that installs pg-boss's schema; the others only connect. */
  constructor(endpoints: Endpoints, owner: boolean) {
    this.boss = new PgBoss({
      connectionString: endpoints.postgresUrl,
      // Maintenance and cron timers would fire at random moments inside a measurement.
      supervise: false,
      schedule: false,
      migrate: owner,
    });
    this.boss.on('error', (error) => console.error(`pg-boss: ${String(error)}`));
  }

  private async ready(): Promise<PgBoss> {
    this.started ??= this.boss.start();
    await this.started;
    return this.boss;
  }

  async createQueue(name: string): Promise<void> {
    await (await this.ready()).createQueue(name);
  }

  /**
   * Keeps the queue: pg-boss 10's deleteQueue fails on a queue that still holds jobs (its
   * deferred foreign key from the job partition, on PostgreSQL 18), and completed jobs stay in
   * the table. Each queue is its own partition, so a kept one does not slow the next run, and
   * the whole cluster is thrown away at the end.
   */
  async dropQueue(_name: string): Promise<void> {}

  async sendOne(queue: string, job: JobPayload): Promise<void> {
    await (await this.ready()).send(queue, job);
  }

  async sendBatch(queue: string, jobs: readonly JobPayload[]): Promise<void> {
    await (await this.ready()).insert(jobs.map((data) => ({ name: queue, data })));
  }

  async fill(queue: string, jobs: readonly JobPayload[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += 1000)
      await this.sendBatch(queue, jobs.slice(i, i + 1000));
  }

  async prepareConsumer(queue: string, options: ConsumeOptions): Promise<StartConsuming> {
    const boss = await this.ready();
    let count = 0;
    let lastAckAt = 0;
    const loop = async () => {
      for (;;) {
        const jobs = await boss.fetch<JobPayload>(queue, { batchSize: options.batch });
        if (jobs.length === 0) return;
        await boss.complete(
          queue,
          jobs.map((job) => job.id),
        );
        count += jobs.length;
        lastAckAt = now();
      }
    };
    return async () => {
      await Promise.all(Array.from({ length: options.loops }, loop));
      return { count, lastAckAt };
    };
  }

  async listen(queue: string, onReceived: (at: number) => void): Promise<Listener> {
    const boss = await this.ready();
    const workerId = await boss.work<JobPayload>(
      queue,
      { pollingIntervalSeconds: MIN_POLLING_SECONDS, batchSize: 1 },
      async (jobs) => {
        const at = now();
        for (const _ of jobs) onReceived(at);
      },
    );
    return {
      async stop() {
        await boss.offWork({ id: workerId });
      },
    };
  }

  async close(): Promise<void> {
    if (this.started) await this.boss.stop({ graceful: false, wait: true });
  }
}
