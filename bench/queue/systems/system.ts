import type { JobPayload } from '../payload.js';

/** Where the servers the bench started listen; handed to every child process. */
export interface Endpoints {
  /** Folder for the SQLite queue files (one file per measurement). */
  readonly sqliteDir: string;
  readonly postgresUrl: string;
  readonly redisPort: number;
}

export type SystemId = 'churnline' | 'pgboss' | 'bullmq';

export const SYSTEM_IDS: readonly SystemId[] = ['churnline', 'pgboss', 'bullmq'];

export const SYSTEM_LABELS: Readonly<Record<SystemId, string>> = {
  churnline: 'churnline',
  pgboss: 'pg-boss',
  bullmq: 'BullMQ',
};

export interface ConsumeOptions {
  /** Messages taken per receive: 1, or 10 (a batch; BullMQ OSS has no batch fetch, so it runs
   *  its worker with this much concurrency instead, which is how BullMQ is meant to scale). */
  readonly batch: number;
  /** Concurrent consumer loops inside one process. */
  readonly loops: number;
}

export interface ConsumeResult {
  /** Messages received and acknowledged (deleted / completed). */
  readonly count: number;
  /** Absolute time (see `now`) of the last acknowledgement; 0 when nothing was consumed. */
  readonly lastAckAt: number;
}

/** Starts consuming; resolves once this consumer finds the queue empty and has acked all it took. */
export type StartConsuming = () => Promise<ConsumeResult>;

/** A long-polling consumer that reports when each message reached it. */
export interface Listener {
  stop(): Promise<void>;
}

/**
 * One queue system driven the way its own documentation drives it. The bench gives every system
 * the same jobs, counts and measurements through this shape.
 */
export interface QueueSystem {
  readonly id: SystemId;
  /** How often an idle consumer of this system checks for new messages from another process
   *  (0 when it blocks on the server); wake-up samples are spread over this interval. */
  readonly crossProcessPollMs: number;
  /** Creates a fresh, empty queue for one measurement. */
  createQueue(name: string): Promise<void>;
  /** Removes a queue created by createQueue, with whatever it still holds. */
  dropQueue(name: string): Promise<void>;
  sendOne(queue: string, job: JobPayload): Promise<void>;
  /** Sends up to 10 jobs in one call of the system's batch API. */
  sendBatch(queue: string, jobs: readonly JobPayload[]): Promise<void>;
  /** Loads a queue before a receive measurement (not timed), in the largest chunks allowed. */
  fill(queue: string, jobs: readonly JobPayload[]): Promise<void>;
  /** Connects and gets ready, so that the returned function starts consuming at once. */
  prepareConsumer(queue: string, options: ConsumeOptions): Promise<StartConsuming>;
  /** Starts a long-polling consumer that calls `onReceived(now())` for each message. */
  listen(queue: string, onReceived: (at: number) => void): Promise<Listener>;
  close(): Promise<void>;
}

/** Milliseconds on a clock shared by all processes of the bench (sub-millisecond resolution). */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
