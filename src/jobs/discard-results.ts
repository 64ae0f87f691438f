import type { BlobStore } from '../blobs/port.js';
import { partKeys, resultObjectKeys } from '../ids.js';
import type { Logger } from '../log.js';

/** A prediction's stored objects are found from its ids and how many chunks it was scored in. */
export interface StoredFor {
  readonly userId: string;
  readonly predictionId: string;
  /** predictions.chunks: null for a prediction scored in one job. */
  readonly chunks: number | null;
}

/** Deletes at most this many objects at once: a 10 GiB file has some 600 parts. */
const DELETES_AT_ONCE = 16;

/**
 * Removes what an attempt may have stored for a prediction that ended without results (failed,
 * cancelled or deleted): the results and their rows index, and its chunks' parts, each key from
 * the ids alone (no listing: the deployed roles may not list the bucket).
 * Best effort: the prediction's state is already decided, so a storage error is logged, not
 * thrown, and leaves an object that no row points to.
 */
export async function discardResults(
  blobs: BlobStore,
  log: Logger,
  stored: StoredFor,
): Promise<void> {
  await deleteAll(blobs, log, stored, [
    ...resultObjectKeys(stored.userId, stored.predictionId),
    ...partObjectKeys(stored),
  ]);
}

/** Removes a chunked prediction's parts once assembled (best effort, like discardResults). */
export async function discardParts(
  blobs: BlobStore,
  log: Logger,
  stored: StoredFor,
): Promise<void> {
  await deleteAll(blobs, log, stored, partObjectKeys(stored));
}

function partObjectKeys(stored: StoredFor): string[] {
  return Array.from({ length: stored.chunks ?? 0 }, (_, chunk) => {
    const part = partKeys(stored.userId, stored.predictionId, chunk);
    return [part.results, part.rows];
  }).flat();
}

async function deleteAll(
  blobs: BlobStore,
  log: Logger,
  stored: StoredFor,
  keys: readonly string[],
): Promise<void> {
  try {
    for (let at = 0; at < keys.length; at += DELETES_AT_ONCE) {
      await Promise.all(keys.slice(at, at + DELETES_AT_ONCE).map((key) => blobs.delete(key)));
    }
  } catch (error) {
    log.warn(
      { err: error, predictionId: stored.predictionId, keys: keys.length },
      'could not remove what a prediction stored',
    );
  }
}
