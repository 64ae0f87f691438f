import { freshQueueName } from './cases.js';
import { makeJob } from './payload.js';
import type { ConsumerPool } from './pool.js';
import { now, type QueueSystem } from './systems/system.js';

export type WakeupPlace = 'in-process' | 'cross-process';

const SAMPLE_TIMEOUT_MS = 30_000;

/**
 * Long-poll wake-up: a consumer is already waiting on an empty queue (in this process, or in a
 * consumer child), then one message is sent. Each sample is the time from the send call to the
 * moment the consumer's receive resolved. Sends are spread at random over the system's poll
 * interval, so that a polling consumer is caught at every phase of its cycle, not just after a poll.
 */
export async function measureWakeup(
  system: QueueSystem,
  place: WakeupPlace,
  samples: number,
  pool: ConsumerPool,
): Promise<number[]> {
  const queue = freshQueueName(`wake_${place}`);
  await system.createQueue(queue);
  let deliver: ((at: number) => void) | undefined;
  const onReceived = (at: number) => {
    deliver?.(at);
    deliver = undefined;
  };
  const stop =
    place === 'in-process'
      ? await system.listen(queue, onReceived).then((listener) => () => listener.stop())
      : await pool.listen(system.id, queue, onReceived);
  const latencies: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      // At least 2 ms, so that the consumer is back in its wait after the previous message.
      await sleep(2 + Math.random() * Math.max(5, system.crossProcessPollMs));
      const received = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${system.id} ${place}: no wake-up in ${SAMPLE_TIMEOUT_MS} ms`)),
          SAMPLE_TIMEOUT_MS,
        );
        deliver = (at) => {
          clearTimeout(timer);
          resolve(at);
        };
      });
      const sentAt = now();
      await system.sendOne(queue, makeJob(i));
      latencies.push((await received) - sentAt);
    }
  } finally {
    await stop();
    await system.dropQueue(queue);
  }
  return latencies;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
