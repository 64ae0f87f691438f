import type { Logger } from '../log.js';
import type { JobQueue, ReceivedMessage } from '../queue/port.js';

/** What the worker does with a message once its handler is done. */
export type JobOutcome =
  | { readonly kind: 'ack' }
  | { readonly kind: 'dead-letter'; readonly reason: string }
  | { readonly kind: 'retry'; readonly error: unknown };

export interface JobContext {
  /** Aborted when the lease on the message is lost or the shutdown deadline passes. */
  readonly signal: AbortSignal;
  /** This delivery is the last the queue allows before dead-lettering. */
  readonly isLastAttempt: boolean;
}

export type JobHandler = (message: ReceivedMessage, context: JobContext) => Promise<JobOutcome>;

export interface JobWorkerOptions {
  readonly queue: JobQueue;
  readonly handler: JobHandler;
  readonly log: Logger;
  /** Jobs run at once by this process. */
  readonly concurrency: number;
  /** Long-poll wait per receive (the queue's default when absent). */
  readonly waitSeconds?: number;
  /** First retry delay of a transient failure; doubles with each receive. */
  readonly retryBaseSeconds?: number;
  readonly onOutcome?: (outcome: JobOutcome['kind'], message: ReceivedMessage) => void;
}

/**
 * Receives jobs and runs them, `concurrency` at a time. While a job runs, a heartbeat extends
 * its visibility every third of the timeout, so a live job keeps its lease and a dead worker's
 * lease always expires. A transient failure is not acknowledged: the queue redelivers it after a
 * back-off, and the queue's receive limit moves it to the dead-letter queue in the end.
 */
export class JobWorker {
  private readonly stopReceiving = new AbortController();
  private readonly inFlight = new Map<
    string,
    { message: ReceivedMessage; abort: AbortController }
  >();
  private loops: Promise<void>[] = [];

  constructor(private readonly options: JobWorkerOptions) {}

  start(): void {
    if (this.loops.length > 0) return;
    this.loops = Array.from({ length: this.options.concurrency }, (_, slot) => this.loop(slot));
  }

  get activeJobs(): number {
    return this.inFlight.size;
  }

  /**
   * Graceful stop: receive nothing more, let running jobs finish within `deadlineMs`, then abort
   * the rest and release their messages at once (visibility 0) for another worker.
   */
  async stop(deadlineMs: number): Promise<{ finished: boolean; released: number }> {
    this.stopReceiving.abort();
    const all = Promise.all(this.loops);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    if (!timedOut) return { finished: true, released: 0 };
    const leftovers = [...this.inFlight.values()];
    for (const job of leftovers) job.abort.abort(new Error('worker is shutting down'));
    await Promise.all(
      leftovers.map((job) =>
        this.options.queue
          .changeVisibility(job.message.receiptHandle, 0)
          .catch((error: unknown) => {
            this.options.log.warn(
              { err: error, messageId: job.message.messageId },
              'could not release a message at shutdown',
            );
          }),
      ),
    );
    await all;
    return { finished: false, released: leftovers.length };
  }

  private async loop(slot: number): Promise<void> {
    const { queue, log } = this.options;
    const signal = this.stopReceiving.signal;
    let failures = 0;
    while (!signal.aborted) {
      let messages: ReceivedMessage[];
      try {
        messages = await queue.receive({
          maxMessages: 1,
          signal,
          ...(this.options.waitSeconds === undefined
            ? {}
            : { waitSeconds: this.options.waitSeconds }),
        });
        failures = 0;
      } catch (error) {
        // The queue is unreachable or busy: back off (capped) and try again; jobs are safe in it.
        failures++;
        log.warn({ err: error, slot, failures }, 'receiving jobs failed; retrying');
        await sleep(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)), signal);
        continue;
      }
      for (const message of messages) await this.run(message);
    }
  }

  private async run(message: ReceivedMessage): Promise<void> {
    const { queue, log, handler } = this.options;
    const abort = new AbortController();
    this.inFlight.set(message.messageId, { message, abort });
    const visibility = queue.settings.visibilityTimeoutSeconds;
    const heartbeat = setInterval(
      () => {
        queue.changeVisibility(message.receiptHandle, visibility).catch((error: unknown) => {
          // The lease is gone (another worker may have the job now): stop working on it.
          log.warn(
            { err: error, messageId: message.messageId },
            'heartbeat failed; abandoning the job',
          );
          abort.abort(new Error('lost the lease on the job'));
        });
      },
      Math.max(1000, (visibility * 1000) / 3),
    );
    heartbeat.unref();
    let outcome: JobOutcome;
    try {
      outcome = await handler(message, {
        signal: abort.signal,
        isLastAttempt: message.receiveCount >= queue.settings.maxReceiveCount,
      });
    } catch (error) {
      outcome = { kind: 'retry', error };
    } finally {
      clearInterval(heartbeat);
      this.inFlight.delete(message.messageId);
    }
    this.options.onOutcome?.(outcome.kind, message);
    try {
      await this.settle(message, outcome, abort.signal);
    } catch (error) {
      // Not acknowledged: the message reappears after its timeout and is handled again (idempotent).
      log.warn(
        { err: error, messageId: message.messageId, outcome: outcome.kind },
        'could not settle a job message',
      );
    }
  }

  private async settle(
    message: ReceivedMessage,
    outcome: JobOutcome,
    signal: AbortSignal,
  ): Promise<void> {
    const { queue, log } = this.options;
    switch (outcome.kind) {
      case 'ack':
        await queue.delete(message.receiptHandle);
        return;
      case 'dead-letter':
        log.warn(
          { messageId: message.messageId, reason: outcome.reason },
          'job moved to the dead-letter queue',
        );
        await queue.moveToDeadLetter(message.receiptHandle, outcome.reason);
        return;
      case 'retry': {
        if (signal.aborted) return; // released at shutdown or the lease is gone
        const base = this.options.retryBaseSeconds ?? 15;
        const delay = Math.min(
          queue.settings.visibilityTimeoutSeconds,
          base * 2 ** (message.receiveCount - 1),
        );
        log.warn(
          {
            err: outcome.error,
            messageId: message.messageId,
            receiveCount: message.receiveCount,
            retryInSeconds: delay,
          },
          'job failed with a transient error; it will be retried',
        );
        await queue.changeVisibility(message.receiptHandle, delay);
        return;
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
