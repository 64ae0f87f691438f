/**
 * The as-of day of a CLI run: dates in the file become "days before" it. Given with --as-of,
 * else the file's modification time, the nearest thing to "when the export was taken" (the
 * service uses the upload's time the same way).
 */
import { stat } from 'node:fs/promises';
import { epochDays, parseAsOf } from '../../model/dates.js';
import { CsvInputError } from '../../model/errors.js';
import { UsageError } from '../errors.js';

export const AS_OF_FLAGS = '--as-of <date>';
export const AS_OF_HELP =
  'dates in the file count as days before this day (YYYY-MM-DD; default: when the file was last modified)';

export async function asOfDays(file: string, given: string | undefined): Promise<number> {
  if (given !== undefined) {
    try {
      return parseAsOf(given);
    } catch (error) {
      throw new UsageError(`--as-of: ${(error as Error).message}`);
    }
  }
  try {
    return epochDays((await stat(file)).mtimeMs);
  } catch (error) {
    throw new CsvInputError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}
