/**
 * Reading a completed prediction's rows, shared by the routes that show them (the customers
 * table, the changes since the previous prediction, a customer's page): through the rows index
 * when the prediction has a usable one, else by streaming the results file.
 */

import type { BlobStore } from '../../blobs/port.js';
import { BlobError } from '../../blobs/port.js';
import type { Db } from '../../db/connect.js';
import { findPrediction } from '../../db/predictions.js';
import type { Prediction } from '../../db/schema.js';
import type { Logger } from '../../log.js';
import { RowsIndexFormatError } from '../../results/rows-index.js';
import { RowsIndexCache } from '../../results/rows-index-cache.js';
import { MissingOrderError } from '../../results/rows-query.js';
import { ApiError, notFound } from '../errors.js';
import { type RowQuery, readResultRows, type ScoredRowView } from './rows.js';
import { RowsIndexMismatchError, readIndexedRows } from './rows-indexed.js';

export type CompletedPrediction = Prediction & { result_key: string };

export type RowsReader = ReturnType<typeof createRowsReader>;

export function createRowsReader(deps: { db: Db; blobs: BlobStore; log: Logger }) {
  const indexes = new RowsIndexCache(deps.blobs);

  /** The user's prediction, completed with results; 404 or 409 `not_ready` otherwise. */
  async function completedPrediction(
    userId: string,
    id: string,
    what: 'results' | 'rows' | 'changes',
  ): Promise<CompletedPrediction> {
    const prediction = await findPrediction(deps.db, userId, id);
    if (!prediction) throw notFound('prediction');
    if (prediction.status !== 'completed' || !prediction.result_key) {
      throw new ApiError(
        409,
        'not_ready',
        `The prediction is ${prediction.status}; ${what} exist once it is completed.`,
      );
    }
    return { ...prediction, result_key: prediction.result_key };
  }

  /**
   * A page from the rows index when the prediction has one; otherwise (completed before indexes
   * existed, or an index this build cannot read) by streaming the results file.
   */
  async function readPage(
    prediction: CompletedPrediction,
    query: RowQuery,
  ): Promise<{ rows: ScoredRowView[]; total: number }> {
    const key = prediction.rows_index_key;
    if (key) {
      try {
        return await readIndexedRows(
          deps.blobs,
          prediction.result_key,
          await indexes.get(key, prediction.result_key),
          query,
        );
      } catch (error) {
        // An index from before the order asked for serves every other order: keep it.
        if (error instanceof MissingOrderError) {
          return readResultRows(await deps.blobs.get(prediction.result_key), query);
        }
        // An index that is unreadable, wrong or gone costs speed, never the page.
        const unusable =
          error instanceof RowsIndexFormatError ||
          error instanceof RowsIndexMismatchError ||
          // Offsets past the end of the results: an index of another version of the file.
          (error instanceof BlobError &&
            (error.code === 'not_found' || error.code === 'invalid_range'));
        if (!unusable) throw error;
        indexes.evict(key);
        deps.log.warn(
          { predictionId: prediction.id, err: error },
          'rows index unusable; streaming the results instead',
        );
      }
    }
    return readResultRows(await deps.blobs.get(prediction.result_key), query);
  }

  return { indexes, completedPrediction, readPage };
}
