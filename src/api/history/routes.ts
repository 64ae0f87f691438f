/**
 * Customer history: how a prediction's customers moved since the previous prediction with the
 * same model (`/v1/predictions/{id}/changes`), and one customer's scores over time
 * (`/v1/customers/{customerId}`). Customers are matched by id, ignoring case, within one user's
 * predictions; see src/history for how it is stored.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { customerScores } from '../../db/customer-history.js';
import { findPrediction } from '../../db/predictions.js';
import { findUpload } from '../../db/uploads.js';
import { type CustomerChange, changeName, classify } from '../../history/changes.js';
import { PROBABILITY_SCALE } from '../../model/score-batch.js';
import { ApiError } from '../errors.js';
import { readRowsAt } from '../predictions/rows-indexed.js';
import type { CompletedPrediction, RowsReader } from '../predictions/rows-reader.js';
import {
  changeSchema,
  predictionIdParams,
  scoredRowSchema,
  tierSchema,
} from '../predictions/schema.js';
import type { ApiDeps } from '../server.js';

const TIERS = [null, 'high', 'medium', 'low'] as const;

/** The lists a changes answer carries, and the change each lists. */
const LISTS = {
  newlyHighRisk: 'newly_high_risk',
  worsened: 'worsened',
  improved: 'improved',
  new: 'new',
} as const satisfies Record<string, CustomerChange>;

const changesQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(0)
    .max(100)
    .default(10)
    .describe('Customers per list, highest risk first; the rest are a rows query away (links).'),
});

const countsSchema = z.object({
  new: z.number().int(),
  newlyHighRisk: z.number().int(),
  worsened: z.number().int(),
  improved: z.number().int(),
  unchanged: z.number().int(),
});

const changesSchema = z.object({
  predictionId: z.uuid(),
  previous: z
    .object({ predictionId: z.uuid(), filename: z.string(), completedAt: z.string() })
    .nullable()
    .describe('The prediction compared with; null when there was none (or it was deleted since).'),
  counts: countsSchema.nullable(),
  newlyHighRisk: z.array(scoredRowSchema),
  worsened: z.array(scoredRowSchema),
  improved: z.array(scoredRowSchema),
  new: z.array(scoredRowSchema),
  links: z
    .record(z.string(), z.string())
    .describe('For each list, the rows query that pages through all of it.'),
});

const customerParams = z.object({
  customerId: z
    .string()
    .min(1)
    .max(200)
    .describe('The customer id as in your files (matched ignoring case).'),
});

const customerQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(50)
    .describe('How many of the latest scorings to return.'),
  modelId: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe('Only the scores of predictions made with this model.'),
});

const scoreSchema = z.object({
  predictionId: z.uuid(),
  modelId: z.string(),
  filename: z.string().describe('The file the prediction scored.'),
  scoredAt: z.string(),
  row: z.number().int().describe('The customer’s row in that file, from 1.'),
  churnProbability: z.number(),
  riskTier: tierSchema,
  previousProbability: z
    .number()
    .nullable()
    .describe('In the previous scoring of this customer with the same model; null for the first.'),
  change: changeSchema
    .nullable()
    .describe(
      'How the tier moved since that previous scoring (new for the first); null when that scoring is older than the ones returned.',
    ),
});

const customerSchema = z.object({
  customerId: z.string(),
  scores: z.array(scoreSchema).describe('The latest `limit` scorings, oldest first.'),
  more: z.boolean().describe('Older scorings exist beyond these.'),
  latest: scoredRowSchema
    .nullable()
    .describe('The latest scoring in full: reasons, recommended action and your columns.'),
});

export function registerHistoryRoutes(
  app: FastifyInstance,
  deps: ApiDeps,
  reader: RowsReader,
): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/predictions/:id/changes',
    {
      schema: {
        summary:
          'How the customers moved since the previous prediction with the same model: newly high risk, worsened, improved, new',
        tags: ['predictions'],
        params: predictionIdParams,
        querystring: changesQuery,
        response: { 200: changesSchema },
      },
    },
    async (request) => {
      const prediction = await reader.completedPrediction(
        request.userId,
        request.params.id,
        'changes',
      );
      const summary = JSON.parse(prediction.summary ?? '{}') as {
        changes?: (z.infer<typeof countsSchema> & { previousPredictionId: string }) | null;
        delimiter?: string;
      };
      const links = Object.fromEntries(
        Object.entries(LISTS).map(([list, change]) => [
          list,
          `/v1/predictions/${prediction.id}/rows?change=${change}`,
        ]),
      );
      const empty = { newlyHighRisk: [], worsened: [], improved: [], new: [] };
      if (!summary.changes) {
        return { predictionId: prediction.id, previous: null, counts: null, ...empty, links };
      }
      const { previousPredictionId, ...counts } = summary.changes;
      const lists = { ...empty } as Record<keyof typeof LISTS, z.infer<typeof scoredRowSchema>[]>;
      for (const [list, change] of Object.entries(LISTS) as [
        keyof typeof LISTS,
        CustomerChange,
      ][]) {
        if (request.query.limit === 0) break;
        const page = await reader.readPage(prediction, {
          change,
          sort: 'probability_desc',
          offset: 0,
          limit: request.query.limit,
          decimalComma: summary.delimiter === ';',
        });
        lists[list] = page.rows;
      }
      return {
        predictionId: prediction.id,
        previous: await previousView(request.userId, previousPredictionId),
        counts,
        ...lists,
        links,
      };
    },
  );

  async function previousView(userId: string, id: string) {
    const previous = await findPrediction(deps.db, userId, id);
    if (previous?.status !== 'completed') return null;
    const upload = await findUpload(deps.db, userId, previous.upload_id);
    return {
      predictionId: previous.id,
      filename: upload?.filename ?? '',
      completedAt: previous.completed_at ?? previous.updated_at,
    };
  }

  api.get(
    '/customers/:customerId',
    {
      schema: {
        summary: "A customer's churn scores over time, and their latest reasons and action",
        tags: ['customers'],
        params: customerParams,
        querystring: customerQuery,
        response: { 200: customerSchema },
      },
    },
    async (request) => {
      const { customerId } = request.params;
      const { limit, modelId } = request.query;
      const timeline = await customerScores(deps.db, request.userId, customerId, {
        limit,
        ...(modelId ? { modelId } : {}),
      });
      const found = timeline.scores;
      if (found.length === 0) {
        throw new ApiError(
          404,
          'customer_not_found',
          `No completed prediction of yours has scored a customer with id "${customerId}"${request.query.modelId ? ` with model ${request.query.modelId}` : ''}. Ids are matched ignoring case; a file needs a customer id column for its customers to have a history.`,
        );
      }
      const lastOfModel = new Map<string, (typeof found)[0]>();
      const all = found.map((score, i) => {
        const before = lastOfModel.get(score.modelId);
        lastOfModel.set(score.modelId, score);
        // Its previous scoring with the model may be older than the window: then it is unknown.
        const unknown = !before && timeline.more && i > 0;
        return {
          predictionId: score.predictionId,
          modelId: score.modelId,
          filename: score.filename,
          scoredAt: score.scoredAt,
          row: score.row + 1,
          churnProbability: score.probability / PROBABILITY_SCALE,
          riskTier: TIERS[score.tier] ?? 'low',
          previousProbability: before ? before.probability / PROBABILITY_SCALE : null,
          change: unknown ? null : (changeName(classify(score.tier, before?.tier)) ?? 'new'),
        };
      });
      // With older scorings, the first is the one before the window: it only told the changes.
      const scores = timeline.more ? all.slice(1) : all;
      const last = found.at(-1) as (typeof found)[0];
      return {
        customerId,
        scores,
        more: timeline.more,
        latest: await latestRow(request.userId, last.predictionId, last.row),
      };
    },
  );

  /** The customer's row in full, from the latest prediction's results. */
  async function latestRow(userId: string, predictionId: string, row: number) {
    const prediction = await findPrediction(deps.db, userId, predictionId);
    if (!prediction?.result_key || !prediction.rows_index_key) return null;
    const completed = prediction as CompletedPrediction;
    const index = await reader.indexes.get(prediction.rows_index_key, completed.result_key);
    const summary = JSON.parse(prediction.summary ?? '{}') as { delimiter?: string };
    const [view] = await readRowsAt(
      deps.blobs,
      completed.result_key,
      index,
      [row],
      summary.delimiter === ';',
    );
    return view ?? null;
  }
}
