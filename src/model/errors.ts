/**
 * The input cannot be read as the model needs it (bad encoding, broken quoting, missing columns,
 * most rows unparseable). Retrying the same file cannot succeed, so job handlers treat it as
 * permanent and the CLI exits with status 2.
 */
export class CsvInputError extends Error {
  override name = 'CsvInputError';
  readonly retryable = false;
}

/** A model file that is missing, not JSON, or not a model this version can read. */
export class ModelFileError extends Error {
  override name = 'ModelFileError';
  readonly retryable = false;
}
