import type { BenchConfig } from './config.js';
import { makeJobs } from './payload.js';
import type { ConsumerPool } from './pool.js';
import { now, type QueueSystem } from './systems/system.js';

export interface ThroughputCase {
  readonly id: string;
  readonly label: string;
  readonly kind: 'send' | 'consume';
  /** Messages per call: 1, or a batch of 10. */
  readonly batch: 1 | 10;
  /** Consumer processes (consume cases). */
  readonly processes: number;
  /** Concurrent consumer loops in each process (consume cases). */
  readonly loops: number;
}

export function throughputCases(config: BenchConfig): ThroughputCase[] {
  const n = config.consumerProcesses;
  const consume = (batch: 1 | 10, processes: number, loops: number, label: string) => ({
    id: `consume-${processes}p${loops}l-${batch}`,
    label,
    kind: 'consume' as const,
    batch,
    processes,
    loops,
  });
  return [
    { id: 'send-1', label: 'send, single', kind: 'send', batch: 1, processes: 1, loops: 1 },
    { id: 'send-10', label: 'send, batch of 10', kind: 'send', batch: 10, processes: 1, loops: 1 },
    consume(1, 1, 1, 'receive+delete, 1 consumer, single'),
    consume(10, 1, 1, 'receive+delete, 1 consumer, batch 10'),
    consume(1, n, 1, `receive+delete, ${n} processes, single`),
    consume(10, n, 1, `receive+delete, ${n} processes, batch 10`),
    consume(10, 1, n, `receive+delete, ${n} loops in 1 process, batch 10`),
  ];
}

export function messagesFor(testCase: ThroughputCase, config: BenchConfig): number {
  return testCase.batch === 1 ? config.singleCount : config.batchCount;
}

let queueSerial = 0;

/** A queue name no earlier run used (letters, digits, '_' and '-' suit all three systems). */
export function freshQueueName(label: string): string {
  queueSerial++;
  return `bench_${label}_${process.pid}_${queueSerial}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * Runs one case once on one system against a fresh queue and returns messages per second.
 * Send cases use one producer awaiting each call, as a request handler would; consume cases
 * fill the queue first (not timed) and time from the start signal to the last acknowledgement.
 */
export async function measureThroughput(
  system: QueueSystem,
  testCase: ThroughputCase,
  messages: number,
  pool: ConsumerPool,
): Promise<number> {
  const queue = freshQueueName(testCase.id);
  const jobs = makeJobs(messages);
  await system.createQueue(queue);
  try {
    if (testCase.kind === 'send') {
      const startedAt = now();
      if (testCase.batch === 1) {
        for (const job of jobs) await system.sendOne(queue, job);
      } else {
        for (let i = 0; i < jobs.length; i += 10) {
          await system.sendBatch(queue, jobs.slice(i, i + 10));
        }
      }
      return messages / ((now() - startedAt) / 1000);
    }
    await system.fill(queue, jobs);
    const outcome = await pool.consume(system.id, queue, testCase.processes, {
      batch: testCase.batch,
      loops: testCase.loops,
    });
    if (outcome.count !== messages) {
      throw new Error(
        `${system.id} ${testCase.id}: consumers acknowledged ${outcome.count} of ${messages} messages`,
      );
    }
    return messages / outcome.seconds;
  } finally {
    await system.dropQueue(queue);
  }
}
