import { rmSync } from 'node:fs';
import path from 'node:path';
import type { ReceivedMessage } from '../../../src/queue/port.js';
import { SqliteJobQueue } from '../../../src/queue/sqlite.js';
import type { JobPayload } from '../payload.js';
import {
  type ConsumeOptions,
  type ConsumeResult,
  type Endpoints,
  type Listener,
  now,
  type QueueSystem,
  type StartConsuming,
} from './system.js';

/** The adapter's default poll interval for commits by other processes (SqliteQueueOptions). */
const DEFAULT_POLL_MS = 50;

/**
 * Churnline's embedded queue. Every measurement gets its own SQLite file, so that no run pays
 * for the rows an earlier one left behind; a process opens one `SqliteJobQueue` per file and its
 * consumer loops share it, as the worker does.
 */
export class ChurnlineSystem implements QueueSystem {
  readonly id = 'churnline' as const;
  readonly crossProcessPollMs = DEFAULT_POLL_MS;
  private readonly open = new Map<string, SqliteJobQueue>();

  constructor(private readonly endpoints: Endpoints) {}

  private queue(name: string): SqliteJobQueue {
    let queue = this.open.get(name);
    if (!queue) {
      queue = new SqliteJobQueue({ file: this.file(name), name: 'bench' });
      this.open.set(name, queue);
    }
    return queue;
  }

  private file(name: string): string {
    return path.join(this.endpoints.sqliteDir, `${name}.db`);
  }

  async createQueue(name: string): Promise<void> {
    this.queue(name);
  }

  async dropQueue(name: string): Promise<void> {
    await this.open.get(name)?.close();
    this.open.delete(name);
    for (const suffix of ['', '-wal', '-shm']) rmSync(this.file(name) + suffix, { force: true });
  }

  async sendOne(queue: string, job: JobPayload): Promise<void> {
    await this.queue(queue).send({ body: JSON.stringify(job) });
  }

  async sendBatch(queue: string, jobs: readonly JobPayload[]): Promise<void> {
    const result = await this.queue(queue).sendBatch(
      jobs.map((job, i) => ({ id: String(i), body: JSON.stringify(job) })),
    );
    if (result.failed.length > 0) throw new Error(`sendBatch failed: ${result.failed[0]!.message}`);
  }

  async fill(queue: string, jobs: readonly JobPayload[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += 10) await this.sendBatch(queue, jobs.slice(i, i + 10));
  }

  async prepareConsumer(name: string, options: ConsumeOptions): Promise<StartConsuming> {
    const queue = this.queue(name);
    let count = 0;
    let lastAckAt = 0;
    const loop = async () => {
      for (;;) {
        // waitSeconds 0: the queue was filled before the start, so empty means done.
        const messages = await queue.receive({ maxMessages: options.batch, waitSeconds: 0 });
        if (messages.length === 0) return;
        await acknowledge(queue, messages);
        count += messages.length;
        lastAckAt = now();
      }
    };
    return async () => {
      await Promise.all(Array.from({ length: options.loops }, loop));
      return { count, lastAckAt } satisfies ConsumeResult;
    };
  }

  async listen(name: string, onReceived: (at: number) => void): Promise<Listener> {
    const queue = this.queue(name);
    const abort = new AbortController();
    const loop = (async () => {
      while (!abort.signal.aborted) {
        const messages = await queue.receive({
          maxMessages: 10,
          waitSeconds: 20,
          signal: abort.signal,
        });
        const at = now();
        for (const _ of messages) onReceived(at);
        if (messages.length > 0) await acknowledge(queue, messages);
      }
    })();
    return {
      async stop() {
        abort.abort();
        await loop;
      },
    };
  }

  async close(): Promise<void> {
    for (const queue of this.open.values()) await queue.close();
    this.open.clear();
  }
}

/** Parses each body as the worker does, then deletes: one call per message or one batch call. */
async function acknowledge(queue: SqliteJobQueue, messages: ReceivedMessage[]): Promise<void> {
  for (const message of messages) JSON.parse(message.body);
  if (messages.length === 1) {
    await queue.delete(messages[0]!.receiptHandle);
    return;
  }
  const result = await queue.deleteBatch(
    messages.map((message, i) => ({ id: String(i), receiptHandle: message.receiptHandle })),
  );
  if (result.failed.length > 0) throw new Error(`deleteBatch failed: ${result.failed[0]!.message}`);
}
