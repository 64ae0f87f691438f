import { z } from 'zod';
import { CUSTOMER_CHANGES } from '../../history/changes.js';

export const predictionStatus = z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']);

const tierCounts = z.object({
  high: z.number().int(),
  medium: z.number().int(),
  low: z.number().int(),
});

export const scoreSummarySchema = z
  .object({
    rows: z.number().int(),
    scored: z.number().int(),
    failed: z.number().int(),
    tiers: tierCounts,
    meanProbability: z.number(),
    probabilityHistogram: z
      .array(z.number().int())
      .nullable()
      .describe(
        'Scored rows in 20 bands of 0.05 of the probability: [0, 0.05), [0.05, 0.1), ... [0.95, 1]. Null for predictions scored before it existed.',
      ),
    revenue: z
      .object({
        column: z.string().describe('The revenue column, as named in your file.'),
        currency: z
          .string()
          .nullable()
          .describe(
            'The currency its values (or else its header) name: a symbol such as "$" or a code such as "EUR"; null when none is named. The sums are in it.',
          ),
        monthlyTotal: z.number(),
        expectedMonthlyLoss: z.number().describe('Sum of probability × monthly revenue.'),
        highRiskMonthly: z.number().describe('Monthly revenue of the high-tier customers.'),
      })
      .nullable()
      .describe(
        'Sums over scored rows, when the file has a monthly revenue column (MonthlyCharges, MRR, monthly_revenue, ...); else null.',
      ),
    commonReasons: z.array(z.object({ reason: z.string(), rows: z.number().int() })),
    unusedColumns: z.array(z.string()),
    missingInputs: z
      .array(z.string())
      .describe(
        "Model inputs your file had no column for (scored with allowPartialFit): each counted as an average customer's.",
      ),
    unknownCategories: z.record(z.string(), z.number().int()),
    firstErrors: z.array(z.string()),
    delimiter: z.string(),
    changes: z
      .object({
        previousPredictionId: z.uuid(),
        new: z.number().int().describe('Customers the previous prediction did not have.'),
        newlyHighRisk: z.number().int().describe('Now high risk, and not before.'),
        worsened: z
          .number()
          .int()
          .describe('Moved to a worse tier other than high (low to medium).'),
        improved: z.number().int().describe('Moved to a better tier.'),
        unchanged: z.number().int().describe('In the same tier as before.'),
      })
      .nullable()
      .optional()
      .describe(
        'How the customers (matched by id, ignoring case) moved since the previous completed prediction with the same model; null for the first one, a file without a customer id column, or predictions from before customer history.',
      ),
  })
  .describe('Rows per tier, mean probability, histogram, revenue at risk, common reasons.');

export type SummaryView = z.infer<typeof scoreSummarySchema>;

export const predictionSchema = z.object({
  id: z.uuid(),
  uploadId: z.uuid(),
  modelId: z.string(),
  status: predictionStatus,
  attempts: z.number().int(),
  rowsScored: z.number().int().nullable(),
  rowsFailed: z.number().int().nullable(),
  summary: scoreSummarySchema.nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  timings: z.object({ queuedMs: z.number().nullable(), runMs: z.number().nullable() }),
  progress: z
    .object({
      rowsScored: z.number().int(),
      rowsTotal: z.number().int().nullable(),
      percent: z.number().nullable(),
      etaSeconds: z
        .number()
        .nullable()
        .describe('Estimated from the pace so far; null until some rows are scored.'),
    })
    .nullable()
    .describe(
      "While queued or running: rows scored so far of the upload's rows; null once it ended.",
    ),
  links: z.object({
    self: z.string(),
    results: z.string().nullable(),
    cancel: z.string().nullable().describe('POST here to cancel, while queued or running.'),
  }),
});

export const createPredictionBody = z.object({
  uploadId: z.uuid({ error: 'must be the id of one of your uploads (UUID)' }),
  modelId: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe('A shipped model or one you trained; default: your default model, else telco-v1.'),
  allowPartialFit: z
    .boolean()
    .default(false)
    .describe(
      "Score even when the file carries too little of what the model relies on (see GET /v1/uploads/{id}/mapping); missing inputs then count as an average customer's.",
    ),
});

export const predictionIdParams = z.object({
  id: z.uuid({ error: 'must be a prediction id (UUID)' }),
});

export const listPredictionsQuery = z.object({
  status: predictionStatus.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(500).optional(),
});

export const tierSchema = z.enum(['high', 'medium', 'low']);
export const changeSchema = z.enum(CUSTOMER_CHANGES);

/** The rows a view shows: its filters and order (shared by the pages and the export). */
export const rowViewQuery = z.object({
  tier: tierSchema.optional(),
  customerId: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('Rows whose customer id starts with this.'),
  change: changeSchema
    .optional()
    .describe(
      'Rows whose customer moved this way since the previous prediction with the same model (see summary.changes).',
    ),
  sort: z
    .enum([
      'probability_desc',
      'probability_asc',
      'expected_loss_desc',
      'column_desc',
      'column_asc',
      'row',
    ])
    .default('probability_desc')
    .describe(
      'Highest or lowest risk first, most monthly revenue at risk first (probability × your revenue column; files with one), by one of your columns of numbers (largest or smallest first; name it in sortColumn; blanks and text last), or file order.',
    ),
  sortColumn: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('For sort=column_desc or column_asc: the header of your column to order by.'),
});

export const listRowsQuery = rowViewQuery.extend({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
  offset: z.coerce
    .number()
    .int()
    .min(0)
    .max(999_999_999)
    .optional()
    .describe(
      'Matching rows to skip: jumps straight to a page (page k of `limit` rows is offset (k - 1) × limit). Give it or `cursor`, not both.',
    ),
});

export const scoredRowSchema = z.object({
  row: z.number().int().describe('1-based position in the uploaded file, below the header.'),
  customerId: z.string().nullable(),
  churnProbability: z.number().nullable(),
  riskTier: tierSchema.nullable(),
  expectedMonthlyLoss: z
    .number()
    .nullable()
    .describe(
      'Churn probability × the monthly revenue in your revenue column, in its currency; null without a readable revenue or a score.',
    ),
  topReasons: z
    .array(z.string())
    .describe(
      'Up to three inputs that raise the risk most: "<input>: strongly raises risk (+0.83)".',
    ),
  recommendedAction: z
    .string()
    .nullable()
    .describe(
      'What your playbook says to do: the rule for the strongest reason it covers, else the tier action. Null for a row not scored.',
    ),
  protectiveFactors: z
    .array(z.string())
    .describe('Up to two inputs that lower the risk most; empty for results from before them.'),
  previousProbability: z
    .number()
    .nullable()
    .describe(
      "The customer's churn probability in the previous prediction with the same model; null when it had no such customer (or none was compared).",
    ),
  change: changeSchema
    .nullable()
    .describe(
      'How the customer moved since: new, newly_high_risk, worsened, improved or unchanged; null when nothing was compared.',
    ),
  error: z.string().nullable(),
  values: z.record(z.string(), z.string()).describe('Your columns, as uploaded.'),
});
