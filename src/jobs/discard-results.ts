import type { BlobStore } from '../blobs/port.js';
import { partsPrefix, resultObjectKeys } from '../ids.js';
import type { Logger } from '../log.js';

/**
 * Removes what an attempt may have stored for a prediction that ended without results (failed,
 * or deleted): the results and their rows index, whose keys come from the ids alone, and the
 * parts of its chunks when it was scored in chunks.
 * Best effort: the prediction's state is already decided, so a storage error is logged, not
 * thrown, and leaves an object that no row points to.
 */
export async function discardResults(
  blobs: BlobStore,
  log: Logger,
  job: { readonly userId: string; readonly predictionId: string },
): Promise<void> {
  const keys = resultObjectKeys(job.userId, job.predictionId);
  try {
    await Promise.all([
      ...keys.map((key) => blobs.delete(key)),
      blobs.deletePrefix(partsPrefix(job.userId, job.predictionId)),
    ]);
  } catch (error) {
    log.warn(
      { err: error, predictionId: job.predictionId, keys },
      'could not remove the results of a prediction that has none',
    );
  }
}

/** Removes a chunked prediction's parts once assembled (best effort, like discardResults). */
export async function discardParts(
  blobs: BlobStore,
  log: Logger,
  job: { readonly userId: string; readonly predictionId: string },
): Promise<void> {
  const prefix = partsPrefix(job.userId, job.predictionId);
  try {
    await blobs.deletePrefix(prefix);
  } catch (error) {
    log.warn({ err: error, predictionId: job.predictionId, prefix }, 'could not remove parts');
  }
}
