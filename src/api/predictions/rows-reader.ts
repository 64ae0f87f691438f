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
import {
  buildColumnOrder,
  ColumnOrderCache,
  ColumnOrderMismatchError,
  NotNumericError,
} from '../../results/column-order.js';
import { type RowsIndex, RowsIndexFormatError } from '../../results/rows-index.js';
import { RowsIndexCache } from '../../results/rows-index-cache.js';
import { MissingOrderError } from '../../results/rows-query.js';
import { ApiError, notFound } from '../errors.js';
import { locateColumns, type RowQuery, readResultRows, type ScoredRowView } from './rows.js';
import { parseRecords, RowsIndexMismatchError, readIndexedRows } from './rows-indexed.js';

export type CompletedPrediction = Prediction & { result_key: string };

export type RowsReader = ReturnType<typeof createRowsReader>;

export function createRowsReader(deps: { db: Db; blobs: BlobStore; log: Logger }) {
  const indexes = new RowsIndexCache(deps.blobs);
  const columnOrders = new ColumnOrderCache();

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
        prediction.status === 'cancelled'
          ? `The prediction was cancelled, so it has no ${what}; create it again to score the file.`
          : `The prediction is ${prediction.status}; ${what} exist once it is completed.`,
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
        const index = await indexes.get(key, prediction.result_key);
        return await readIndexedRows(deps.blobs, prediction.result_key, index, {
          ...query,
          ...(await columnOrder(prediction, index, query)),
        });
      } catch (error) {
        // An index from before the order asked for serves every other order: keep it.
        if (error instanceof MissingOrderError) {
          return readResultRows(await deps.blobs.get(prediction.result_key), query);
        }
        // An index that is unreadable, wrong or gone costs speed, never the page.
        const unusable =
          error instanceof RowsIndexFormatError ||
          error instanceof RowsIndexMismatchError ||
          error instanceof ColumnOrderMismatchError ||
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

  /**
   * For a query ordered by one of the user's columns, the rows in that order: built from the
   * results file on first use, then cached. Nothing for the other orders.
   */
  async function columnOrder(
    prediction: CompletedPrediction,
    index: RowsIndex,
    query: Pick<RowQuery, 'sort' | 'sortColumn' | 'decimalComma'>,
  ): Promise<{ order?: Uint32Array }> {
    if (query.sort !== 'column_desc' && query.sort !== 'column_asc') return {};
    const name = query.sortColumn;
    if (name === undefined) {
      throw new ApiError(
        400,
        'sort_column_required',
        `sort=${query.sort} orders by one of your columns: name it with sortColumn (its header in your file).`,
      );
    }
    const fileHeader = parseRecords(index.header)[0] ?? [];
    const header = fileHeader.slice(0, locateColumns(fileHeader).inputs);
    const column = header.indexOf(name);
    if (column < 0) {
      const some = header
        .slice(0, 20)
        .map((c) => `"${c}"`)
        .join(', ');
      throw new ApiError(
        400,
        'unknown_column',
        `Your file has no column "${name.slice(0, 200)}" to order by; its columns are ${some}${header.length > 20 ? ', ...' : ''}.`,
      );
    }
    const descending = query.sort === 'column_desc';
    const key = `${prediction.result_key}\n${column}\n${descending}`;
    try {
      const order = await columnOrders.get(key, async () =>
        buildColumnOrder(await deps.blobs.get(prediction.result_key), {
          column,
          rows: index.rows,
          descending,
          decimalComma: query.decimalComma === true,
        }),
      );
      return { order };
    } catch (error) {
      if (!(error instanceof NotNumericError)) throw error;
      throw new ApiError(
        400,
        'not_numeric',
        `No customer has a number in "${name}", so there is nothing to order by; choose a column of numbers (MRR, seats, logins).`,
      );
    }
  }

  return { indexes, columnOrders, completedPrediction, readPage, columnOrder };
}
