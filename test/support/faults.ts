/**
 * Fault injection for the fault tests, all of it on the test side: decorators of the JobQueue and
 * BlobStore ports that SIGKILL their own process at one named point of a job, or make storage
 * fail for a while. test/support/fault-worker.ts and fault-scoring-thread.ts read the choice from
 * the environment, which a worker thread shares with its process.
 */

import { mkdir, open, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline, Transform } from 'node:stream';
import { BlobError, type BlobErrorCode, type BlobStore } from '../../src/blobs/port.js';
import type { JobQueue } from '../../src/queue/port.js';

/**
 * Where in a job the worker process dies. Not listed: "before the claim commits", which no
 * adapter exposes: SQLite claims in one synchronous transaction, PostgreSQL in one autocommit
 * statement, and SQS on its own servers; the nearest reachable point is `claim-lost`.
 */
export const KILL_POINTS = [
  /** The queue's claim committed; the process dies before the worker sees the message. */
  'claim-lost',
  /** The scoring thread has read FAULT_KILL_AFTER_BYTES of the upload. */
  'mid-scoring',
  /** The results object is stored; the prediction row is not updated yet. */
  'after-result-put',
  /** The prediction row says completed; the message is not deleted (acknowledged) yet. */
  'before-ack',
] as const;
export type KillPoint = (typeof KILL_POINTS)[number];

export interface FaultPlan {
  readonly killAt?: KillPoint;
  readonly killAfterBytes: number;
  /** Result puts fail with this code (retryable as the real adapters map it)... */
  readonly putError?: BlobErrorCode;
  /** ...this many times in all (counted in `putFailStateDir`, see claimPutFailure), or for ever... */
  readonly putFailCount?: number;
  readonly putFailStateDir?: string;
  /**
   * ...after this many bytes of the body have gone into the real store (a streamed body only: a
   * Buffer or string body, such as the rows index, fails at once, before anything is stored)...
   */
  readonly putFailAfterBytes: number;
  /** ...for keys ending with this (e.g. `.rows-index`), or every key when absent. */
  readonly putFailKeySuffix?: string;
}

const RETRYABLE: ReadonlySet<BlobErrorCode> = new Set(['no_space', 'busy', 'timeout', 'io']);

export function faultPlanFromEnv(env: NodeJS.ProcessEnv = process.env): FaultPlan {
  const killAt = env.FAULT_KILL_AT as KillPoint | undefined;
  if (killAt !== undefined && !KILL_POINTS.includes(killAt))
    throw new Error(`FAULT_KILL_AT must be one of ${KILL_POINTS.join(', ')}; got ${killAt}`);
  if (env.FAULT_PUT_FAIL_COUNT && !env.FAULT_PUT_FAIL_STATE_DIR)
    throw new Error('FAULT_PUT_FAIL_COUNT needs FAULT_PUT_FAIL_STATE_DIR to count in');
  return {
    ...(killAt ? { killAt } : {}),
    killAfterBytes: Number(env.FAULT_KILL_AFTER_BYTES ?? 256 * 1024),
    ...(env.FAULT_PUT_ERROR ? { putError: env.FAULT_PUT_ERROR as BlobErrorCode } : {}),
    ...(env.FAULT_PUT_FAIL_COUNT ? { putFailCount: Number(env.FAULT_PUT_FAIL_COUNT) } : {}),
    ...(env.FAULT_PUT_FAIL_STATE_DIR ? { putFailStateDir: env.FAULT_PUT_FAIL_STATE_DIR } : {}),
    putFailAfterBytes: Number(env.FAULT_PUT_FAIL_AFTER_BYTES ?? 4096),
    ...(env.FAULT_PUT_FAIL_KEY_SUFFIX ? { putFailKeySuffix: env.FAULT_PUT_FAIL_KEY_SUFFIX } : {}),
  };
}

/** SIGKILL, from any thread: the whole process goes at once, no handler runs. */
export function killSelf(): never {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: SIGKILL was sent');
}

/** The queue, dying at `claim-lost` or `before-ack` when the plan says so. */
export function faultyQueue(queue: JobQueue, plan: FaultPlan): JobQueue {
  return new Proxy(queue, {
    get(target, property, receiver) {
      if (property === 'receive' && plan.killAt === 'claim-lost') {
        return async (...args: Parameters<JobQueue['receive']>) => {
          const messages = await target.receive(...args);
          if (messages.length > 0) killSelf();
          return messages;
        };
      }
      if (property === 'delete' && plan.killAt === 'before-ack') {
        return (_receiptHandle: string) => killSelf();
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The blob store of a scoring thread, with the plan's kill points and put failures. */
export function faultyBlobs(blobs: BlobStore, plan: FaultPlan): BlobStore {
  return new Proxy(blobs, {
    get(target, property, receiver) {
      if (property === 'get' && plan.killAt === 'mid-scoring') {
        return async (key: string) => {
          // pipeline, not pipe: a read error of the source reaches the scoring as the stream's
          // error (pipe would leave it waiting for ever), and destroying the gate ends the read.
          const gate = afterBytes(plan.killAfterBytes, killSelf);
          return pipeline(await target.get(key), gate, () => {});
        };
      }
      if (property === 'put') {
        return async (...[key, body, options]: Parameters<BlobStore['put']>) => {
          const failing =
            plan.putError !== undefined &&
            (plan.putFailKeySuffix === undefined || key.endsWith(plan.putFailKeySuffix)) &&
            (await claimPutFailure(plan));
          const stored = await target.put(
            key,
            failing
              ? failAfter(body, plan.putFailAfterBytes, plan.putError as BlobErrorCode)
              : body,
            options,
          );
          if (plan.killAt === 'after-result-put') killSelf();
          return stored;
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Whether this put is to fail: always without a count; with one, only while a failure is left.
 * The count is shared through files, one per failure (`put-failure-<i>` in `putFailStateDir`),
 * each claimed by creating it with O_EXCL, which exactly one caller can do. Not a counter in
 * memory: the scoring threads that make the puts are separate isolates, each with its own copy
 * of this module, and a thread that dies is replaced by a fresh one, so a per-thread count would
 * allow up to n failures per thread. Not a time window either: one computed before the worker
 * starts can end before its first put on loaded cores (tsx start-up alone takes seconds), and
 * then nothing fails. Files make it exactly n failed puts, however the jobs spread over threads
 * and however slow the machine.
 */
async function claimPutFailure(plan: FaultPlan): Promise<boolean> {
  if (plan.putFailCount === undefined || plan.putFailStateDir === undefined) return true;
  await mkdir(plan.putFailStateDir, { recursive: true });
  for (let i = 0; i < plan.putFailCount; i++) {
    try {
      await (await open(path.join(plan.putFailStateDir, `put-failure-${i}`), 'wx')).close();
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return false;
}

/** How many put failures were injected with `dir` as FAULT_PUT_FAIL_STATE_DIR. */
export async function injectedPutFailures(dir: string): Promise<number> {
  try {
    return (await readdir(dir)).filter((name) => name.startsWith('put-failure-')).length;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/** Passes bytes through and calls `then` once more than `limit` have passed. */
function afterBytes(limit: number, then: () => void): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > limit) then();
      done(null, chunk);
    },
  });
}

/**
 * The body as the store would read it from a disk that fills up (or a link that breaks) part way:
 * the first `limit` bytes, then the error. The store sees its body fail, as with a real ENOSPC
 * in its own write, and must clean up what it wrote; the producer's stream is destroyed too.
 * A Buffer or string body (the rows index is a Buffer) ignores `limit`: it is one write, so the
 * put throws at once and the real store never sees it; that path tests the caller's clean-up of
 * the results stored before it, not the store's own clean-up of a partial write.
 */
function failAfter(
  body: Readable | Buffer | string,
  limit: number,
  code: BlobErrorCode,
): Readable | Buffer | string {
  const error = () =>
    new BlobError(code, `injected ${code} after ${limit} bytes`, RETRYABLE.has(code));
  if (typeof body === 'string' || Buffer.isBuffer(body)) throw error();
  let seen = 0;
  const gate = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > limit) done(error());
      else done(null, chunk);
    },
  });
  // As a store discards a body it failed on: destroyed without an error (scoring then stops).
  body.once('error', (reason) => gate.destroy(reason));
  gate.once('close', () => body.destroy());
  return body.pipe(gate);
}
