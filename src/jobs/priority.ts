/**
 * Scoring is batch work: where it shares the cores with the API (`churnline serve`, or an API and
 * worker processes on one machine), requests should not wait behind it. Batch work runs at this
 * nice value, so it takes whatever CPU the API leaves and little of what the API needs.
 *
 * Linux keeps a priority per thread, and a new thread inherits its creator's. A scoring thread
 * lowers itself, so that the main thread of a process serving the API keeps its own; a
 * worker-only process lowers all of its threads, the thread pool and V8's included, and the
 * threads it starts later inherit that. Under `npm run bench:load` (two runs each way) a worker
 * process lowered like this left the API about 2,290 reads/s instead of 2,030 (p99 38–41 ms
 * instead of 44–46) and drained as many jobs.
 */
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

export const BATCH_NICE = 10;

/** Lowers the calling thread to BATCH_NICE (on Linux; the whole process elsewhere). */
export function runThreadAsBatchWork(): void {
  lower(0);
}

/** Lowers every thread of this process to BATCH_NICE, and so every thread it starts later. */
export function runProcessAsBatchWork(): void {
  if (process.platform !== 'linux') lower(0);
  else for (const thread of readdirSync('/proc/self/task')) lower(Number(thread));
}

function lower(thread: number): void {
  try {
    setPriority(thread, BATCH_NICE);
  } catch {
    // Not permitted in this container, or the thread has ended: it runs at its own priority.
  }
}
