import { Queue, Worker } from 'bullmq';
import type { JobPayload } from '../payload.js';
import {
  type ConsumeOptions,
  type Endpoints,
  type Listener,
  now,
  type QueueSystem,
  type StartConsuming,
} from './system.js';

/**
 * BullMQ on Redis, used as its docs show: `Queue.add` / `addBulk` to send, a `Worker` with
 * `concurrency` to consume (the open-source edition has no batch fetch). Jobs are removed on
 * completion, the counterpart of a delete, so Redis does not keep every finished job.
 */
export class BullMqSystem implements QueueSystem {
  readonly id = 'bullmq' as const;
  /** Idle workers block on Redis (BZPOPMIN) and wake on the server's signal. */
  readonly crossProcessPollMs = 0;
  private readonly queues = new Map<string, Queue>();
  private readonly connection;

  constructor(endpoints: Endpoints) {
    // Workers hold a blocking connection; BullMQ requires no per-request retry limit on it.
    this.connection = { host: '127.0.0.1', port: endpoints.redisPort, maxRetriesPerRequest: null };
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: this.connection,
        defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
      });
      this.queues.set(name, queue);
    }
    return queue;
  }

  async createQueue(name: string): Promise<void> {
    await this.queue(name).waitUntilReady();
  }

  async dropQueue(name: string): Promise<void> {
    const queue = this.queue(name);
    await queue.obliterate({ force: true });
    await queue.close();
    this.queues.delete(name);
  }

  async sendOne(queue: string, job: JobPayload): Promise<void> {
    await this.queue(queue).add('predict', job);
  }

  async sendBatch(queue: string, jobs: readonly JobPayload[]): Promise<void> {
    await this.queue(queue).addBulk(jobs.map((data) => ({ name: 'predict', data })));
  }

  async fill(queue: string, jobs: readonly JobPayload[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += 1000)
      await this.sendBatch(queue, jobs.slice(i, i + 1000));
  }

  async prepareConsumer(queue: string, options: ConsumeOptions): Promise<StartConsuming> {
    let count = 0;
    let lastAckAt = 0;
    const worker = new Worker<JobPayload>(queue, async () => undefined, {
      connection: this.connection,
      concurrency: options.batch * options.loops,
      autorun: false,
    });
    // 'completed' fires after the job is acknowledged (moved out of the active list).
    worker.on('completed', () => {
      count++;
      lastAckAt = now();
    });
    worker.on('error', (error) => console.error(`BullMQ worker: ${String(error)}`));
    await worker.waitUntilReady();
    return async () => {
      const drained = new Promise<void>((resolve) => worker.once('drained', resolve));
      const running = worker.run();
      await drained;
      // close() lets the jobs still in progress finish and be acknowledged.
      await worker.close();
      await running;
      return { count, lastAckAt };
    };
  }

  async listen(queue: string, onReceived: (at: number) => void): Promise<Listener> {
    const worker = new Worker<JobPayload>(
      queue,
      async () => {
        onReceived(now());
      },
      { connection: this.connection, concurrency: 1 },
    );
    worker.on('error', (error) => console.error(`BullMQ worker: ${String(error)}`));
    await worker.waitUntilReady();
    return {
      async stop() {
        await worker.close();
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }
}
