/**
 * A failure that retrying cannot fix (a CSV the model cannot read, an upload that is gone): the
 * prediction fails at once with `userMessage`. Any other error is transient: the queue
 * redelivers the job, and only the last allowed attempt marks the prediction failed.
 */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
  constructor(
    readonly code: string,
    /** Shown to the user as is: says what was wrong and how to fix it, no internals. */
    readonly userMessage: string,
    options?: { cause?: unknown },
  ) {
    super(userMessage, options);
  }
}
