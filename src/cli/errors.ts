import { LocalKeyError } from '../api/auth/local-key.js';
import { ConfigError } from '../config/index.js';
import { StartupError } from '../config/startup-error.js';
import { CsvInputError, ModelFileError } from '../model/errors.js';

/**
 * Bad input from the user (a missing file, a bad flag value, a CSV the model cannot read):
 * the CLI prints the message as one line and exits with status 2.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Converts errors that are the user's to fix into UsageError; others pass through unchanged. */
export function asUsageError(error: unknown): unknown {
  if (error instanceof ConfigError) return new UsageError(error.message);
  // Exit 2 when only configuration fixes it; a start-up check that may pass on its own (a server
  // still starting) keeps exit 1, printed as the same one line.
  if (error instanceof StartupError && error.exitCode === 2) return new UsageError(error.message);
  if (
    error instanceof CsvInputError ||
    error instanceof ModelFileError ||
    error instanceof LocalKeyError
  ) {
    return new UsageError(error.message);
  }
  return error;
}
