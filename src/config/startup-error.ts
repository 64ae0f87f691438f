/**
 * A start-up check failed: the message is one line that says what is wrong, names the variable
 * (or the privilege) and the fix, and never holds a secret. The CLI prints it without a stack.
 * `exitCode` 2: only a change of configuration or permissions fixes it (the CLI's "bad input");
 * 1: it may pass on its own (a server that is down or still starting), so a supervisor retries.
 */
export class StartupError extends Error {
  override name = 'StartupError';
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
