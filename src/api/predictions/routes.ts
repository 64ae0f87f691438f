import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { BlobError } from '../../blobs/port.js';
import { findColumnOverrides } from '../../db/column-mappings.js';
import { decodeCursor, pageOf } from '../../db/pagination.js';
import {
  cancelPrediction,
  findPrediction,
  listPredictions,
  softDeletePrediction,
} from '../../db/predictions.js';
import type { Prediction, ScoringOptions } from '../../db/schema.js';
import { findPlaybook } from '../../db/settings.js';
import { findUpload } from '../../db/uploads.js';
import { resultKey, rowsIndexKey } from '../../ids.js';
import { discardResults } from '../../jobs/discard-results.js';
import { submitPrediction } from '../../jobs/submit.js';
import { readCsvRecords } from '../../model/csv-reader.js';
import { csvLine } from '../../model/csv-writer.js';
import { RowsIndexFormatError } from '../../results/rows-index.js';
import { allMatchingRows } from '../../results/rows-query.js';
import { ApiError, notFound } from '../errors.js';
import { checkUploadFit, poorFitError, resolveModel } from '../fit-check.js';
import { attachment } from '../headers.js';
import { presentPrediction } from '../presenters.js';
import type { ApiDeps } from '../server.js';
import { changesUnavailable, locateColumns, type RowQuery, type RowSort } from './rows.js';
import { readRowLines } from './rows-indexed.js';
import type { RowsReader } from './rows-reader.js';
import {
  createPredictionBody,
  listPredictionsQuery,
  listRowsQuery,
  predictionIdParams,
  predictionSchema,
  rowViewQuery,
  scoredRowSchema,
} from './schema.js';

export function registerPredictionRoutes(
  app: FastifyInstance,
  deps: ApiDeps,
  rows: RowsReader,
): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { indexes, completedPrediction, readPage } = rows;
  const rowsReader = rows;

  /** The uploaded file's name without ".csv", which download names start with. */
  async function fileBase(userId: string, prediction: Prediction): Promise<string> {
    const upload = await findUpload(deps.db, userId, prediction.upload_id);
    return (upload?.filename ?? 'customers.csv').replace(/\.csv$/i, '');
  }

  api.post(
    '/predictions',
    {
      schema: {
        summary: 'Score an upload: creates a prediction job (202) that you can poll',
        tags: ['predictions'],
        body: createPredictionBody,
        response: { 202: predictionSchema },
      },
    },
    async (request, reply) => {
      const { uploadId, allowPartialFit } = request.body;
      const { model, modelId } = await resolveModel(deps, request.userId, request.body.modelId);
      const upload = await findUpload(deps.db, request.userId, uploadId);
      if (!upload) throw notFound('upload');
      const playbook = await findPlaybook(deps.db, request.userId);
      const options: ScoringOptions = {
        asOf: upload.created_at,
        ...(playbook ? { playbook } : {}),
      };
      try {
        // What can be known before queueing is refused now, not as a failed job later.
        const fit = await checkUploadFit(deps, upload, model, modelId);
        const refusal = poorFitError(fit.report, uploadId, modelId, allowPartialFit);
        if (refusal) throw refusal;
        if (Object.keys(fit.overrides).length > 0) options.overrides = fit.overrides;
        if (fit.report.inputs.some((input) => input.column === null)) {
          options.allowMissingInputs = true;
        }
      } catch (error) {
        // With file storage unreachable the job is still accepted into the outbox, as every
        // prediction is during an outage; the worker then checks the columns as it scores.
        if (!(error instanceof BlobError && error.retryable)) throw error;
        request.log.warn({ err: error, uploadId }, 'column fit not checked: storage unreachable');
        options.overrides = await findColumnOverrides(deps.db, request.userId, uploadId, modelId);
        options.allowMissingInputs = allowPartialFit;
      }
      const prediction = await submitPrediction(
        deps.db,
        deps.signingKeys,
        { userId: request.userId, upload, modelId, options, chunkBytes: deps.scoreChunkBytes },
        deps.quotas.jobTransaction(upload.id),
      );
      deps.relay.trigger();
      reply.code(202).header('location', `/v1/predictions/${prediction.id}`);
      return presentPrediction(prediction);
    },
  );

  api.get(
    '/predictions',
    {
      schema: {
        summary: 'List your predictions, newest first, a page at a time',
        tags: ['predictions'],
        querystring: listPredictionsQuery,
        response: {
          200: z.object({
            predictions: z.array(predictionSchema),
            nextCursor: z.string().nullable(),
          }),
        },
      },
    },
    async (request) => {
      const { status, limit, cursor } = request.query;
      const rows = await listPredictions(deps.db, request.userId, {
        limit: limit + 1,
        ...(status ? { status } : {}),
        ...(cursor ? { after: decodeCursor(cursor) } : {}),
      });
      const { page, nextCursor } = pageOf(rows, limit);
      return { predictions: page.map(presentPrediction), nextCursor };
    },
  );

  api.get(
    '/predictions/:id',
    {
      schema: {
        summary: 'Get a prediction',
        tags: ['predictions'],
        params: predictionIdParams,
        response: { 200: predictionSchema },
      },
    },
    async (request) => {
      const prediction = await findPrediction(deps.db, request.userId, request.params.id);
      if (!prediction) throw notFound('prediction');
      return presentPrediction(prediction);
    },
  );

  api.get(
    '/predictions/:id/results.csv',
    {
      schema: {
        summary:
          'Download the scored CSV: your columns plus churn_probability, risk_tier, top_reasons and protective_factors',
        tags: ['predictions'],
        params: predictionIdParams,
        produces: ['text/csv'],
      },
    },
    async (request, reply) => {
      const prediction = await completedPrediction(request.userId, request.params.id, 'results');
      const base = await fileBase(request.userId, prediction);
      const stream = await deps.blobs.get(prediction.result_key);
      reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', attachment(`${base}-scored.csv`));
      return reply.send(stream);
    },
  );

  api.get(
    '/predictions/:id/rows.csv',
    {
      schema: {
        summary:
          'Export a view of the scored customers as CSV: the rows the same filters and order give, all of them',
        tags: ['predictions'],
        params: predictionIdParams,
        querystring: rowViewQuery,
        produces: ['text/csv'],
      },
    },
    async (request, reply) => {
      const prediction = await completedPrediction(request.userId, request.params.id, 'rows');
      const view = request.query;
      const { decimalComma } = checkOrder(prediction, view.sort);
      const lines = await exportLines(prediction, { ...view, decimalComma });
      const base = await fileBase(request.userId, prediction);
      const byColumn =
        view.sortColumn && (view.sort === 'column_desc' || view.sort === 'column_asc')
          ? `by-${view.sortColumn.replace(/[^\p{L}\p{N}_.-]+/gu, '-')}`
          : undefined;
      const parts = [
        view.tier ?? 'all',
        view.change?.replaceAll('_', '-'),
        byColumn,
        ORDER_NAMES[view.sort],
      ];
      const name = `${base}-${parts.filter(Boolean).join('-')}.csv`;
      reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', attachment(name));
      return reply.send(Readable.from(lines));
    },
  );

  /**
   * The lines of an export: with a rows index, the matching rows in order, read in batches of
   * ranged reads; without one (predictions from before indexes), the file streamed and filtered,
   * in file order only.
   */
  async function exportLines(
    prediction: Prediction & { result_key: string },
    view: Pick<RowQuery, 'tier' | 'change' | 'customerId' | 'sort' | 'sortColumn' | 'decimalComma'>,
  ): Promise<AsyncIterable<Buffer | string>> {
    const key = prediction.rows_index_key;
    const index = key
      ? await indexes.get(key, prediction.result_key).catch((error: unknown) => {
          // An unreadable or missing index costs the orders, never the export; storage errors stay.
          const unusable =
            error instanceof RowsIndexFormatError ||
            (error instanceof BlobError && error.code === 'not_found');
          if (!unusable) throw error;
          return null;
        })
      : null;
    if (
      index &&
      (view.sort !== 'expected_loss_desc' || index.byLoss) &&
      (view.change === undefined || index.changes)
    ) {
      const rows = allMatchingRows(index, {
        ...view,
        ...(await rowsReader.columnOrder(prediction, index, view)),
      });
      return (async function* () {
        yield index.header;
        for (let at = 0; at < rows.length; at += EXPORT_BATCH_ROWS) {
          const batch = Array.from(rows.subarray(at, at + EXPORT_BATCH_ROWS));
          const lines = await readRowLines(deps.blobs, prediction.result_key, index, batch);
          for (const row of batch) yield lines.get(row) as Buffer;
        }
      })();
    }
    if (view.change !== undefined) throw changesUnavailable();
    if (view.sort !== 'row') {
      throw new ApiError(
        400,
        'order_not_exportable',
        'This prediction was scored before its rows were indexed, so it exports in file order only (sort=row); score the file again to export it in any order.',
      );
    }
    const csv = await deps.blobs.get(prediction.result_key);
    const prefix = view.customerId?.toLowerCase();
    return (async function* () {
      let columns: ReturnType<typeof locateColumns> | undefined;
      for await (const batch of readCsvRecords(csv, { delimiter: ',' })) {
        let text = '';
        for (const record of batch) {
          if (!columns) {
            columns = locateColumns(record);
            text += csvLine(record);
            continue;
          }
          if (view.tier && record[columns.tier] !== view.tier) continue;
          const id = (record[columns.id] ?? '').toLowerCase();
          if (prefix !== undefined && !id.startsWith(prefix)) continue;
          text += csvLine(record);
        }
        yield text;
      }
    })();
  }

  api.get(
    '/predictions/:id/rows',
    {
      schema: {
        summary:
          'Scored customers as JSON pages, filterable by tier and customer id, sorted by risk',
        tags: ['predictions'],
        params: predictionIdParams,
        querystring: listRowsQuery,
        response: {
          200: z.object({
            rows: z.array(scoredRowSchema),
            total: z.number().int(),
            nextCursor: z.string().nullable(),
          }),
        },
      },
    },
    async (request) => {
      const prediction = await completedPrediction(request.userId, request.params.id, 'rows');
      const { cursor, limit, offset: skip, ...filters } = request.query;
      const { decimalComma } = checkOrder(prediction, filters.sort);
      if (cursor !== undefined && skip !== undefined) {
        throw new ApiError(
          400,
          'cursor_and_offset',
          'Give either cursor (to go on from a page) or offset (to jump to one), not both.',
        );
      }
      const offset = cursor === undefined ? (skip ?? 0) : decodeOffset(cursor);
      const page = await readPage(prediction, {
        ...filters,
        offset,
        limit,
        decimalComma,
      });
      const next = offset + page.rows.length;
      return { ...page, nextCursor: next < page.total ? encodeOffset(next) : null };
    },
  );

  api.post(
    '/predictions/:id/cancel',
    {
      schema: {
        summary: 'Cancel a queued or running prediction',
        description:
          'A queued prediction is cancelled at once; a running one stops scoring within a few seconds and keeps no results. Cancelling a cancelled prediction answers the same again; a completed or failed one answers 409.',
        tags: ['predictions'],
        params: predictionIdParams,
        response: { 200: predictionSchema },
      },
    },
    async (request) => {
      const result = await cancelPrediction(deps.db, request.userId, request.params.id);
      if (!result) throw notFound('prediction');
      const { prediction } = result;
      if (prediction.status === 'completed' || prediction.status === 'failed') {
        throw new ApiError(
          409,
          'not_cancellable',
          prediction.status === 'completed'
            ? 'The prediction completed before it could be cancelled; delete it if you do not want its results.'
            : 'The prediction failed already; there is nothing to cancel.',
        );
      }
      // Chunks scored already left parts that no assembly will take. A chunk still running
      // removes everything itself once it sees the cancel (src/jobs/chunk-handlers.ts).
      if (result.cancelled && prediction.chunks !== null) {
        await discardResults(deps.blobs, deps.log, {
          userId: request.userId,
          predictionId: prediction.id,
          chunks: prediction.chunks,
        });
      }
      return presentPrediction(prediction);
    },
  );

  api.delete(
    '/predictions/:id',
    {
      schema: {
        summary: 'Delete a prediction and its results',
        tags: ['predictions'],
        params: predictionIdParams,
      },
    },
    async (request, reply) => {
      const deleted = await softDeletePrediction(deps.db, request.userId, request.params.id);
      if (!deleted) throw notFound('prediction');
      indexes.evict(rowsIndexKey(request.userId, deleted.id));
      rowsReader.columnOrders.evict(resultKey(request.userId, deleted.id));
      // The row is deleted already: a storage error must not turn that into a 500 that a retry
      // would answer with 404, never reaching the files again. It is logged for the operator.
      await discardResults(deps.blobs, deps.log, {
        userId: request.userId,
        predictionId: deleted.id,
        chunks: deleted.chunks,
      });
      reply.code(204).send();
    },
  );
}

/**
 * What the rows of a prediction can be ordered by: the expected-loss order only for a file with
 * a revenue column (400 `no_revenue` otherwise); and how its money reads.
 */
function checkOrder(prediction: Prediction, sort: RowSort): { decimalComma: boolean } {
  const summary = prediction.summary
    ? (JSON.parse(prediction.summary) as { revenue?: unknown; delimiter?: string })
    : null;
  if (sort === 'expected_loss_desc' && !summary?.revenue) {
    throw new ApiError(
      400,
      'no_revenue',
      'This file has no monthly revenue column (MonthlyCharges, MRR, monthly_revenue, ...), so no expected loss to sort by; sort by probability instead.',
    );
  }
  return { decimalComma: summary?.delimiter === ';' };
}

/** Rows an export reads per batch of ranged reads. */
const EXPORT_BATCH_ROWS = 2000;

/** How an export's file name says its order. */
const ORDER_NAMES: Record<RowSort, string> = {
  probability_desc: 'highest-risk-first',
  probability_asc: 'lowest-risk-first',
  column_desc: 'largest-first',
  column_asc: 'smallest-first',
  expected_loss_desc: 'most-revenue-at-risk-first',
  row: 'file-order',
};

const encodeOffset = (offset: number) => Buffer.from(`o:${offset}`).toString('base64url');

function decodeOffset(cursor: string): number {
  const match = /^o:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match)
    throw new ApiError(
      400,
      'invalid_cursor',
      'The cursor is not one this API returned; start again without it.',
    );
  return Number(match[1]);
}
