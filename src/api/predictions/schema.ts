import { z } from 'zod';

export const predictionStatus = z.enum(['queued', 'running', 'completed', 'failed']);

export const predictionSchema = z.object({
  id: z.uuid(),
  uploadId: z.uuid(),
  modelId: z.string(),
  status: predictionStatus,
  attempts: z.number().int(),
  rowsScored: z.number().int().nullable(),
  rowsFailed: z.number().int().nullable(),
  summary: z
    .unknown()
    .nullable()
    .describe('Rows per tier, mean probability and the most common reasons.'),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  timings: z.object({ queuedMs: z.number().nullable(), runMs: z.number().nullable() }),
  links: z.object({ self: z.string(), results: z.string().nullable() }),
});

export const createPredictionBody = z.object({
  uploadId: z.uuid({ error: 'must be the id of one of your uploads (UUID)' }),
  modelId: z.string().min(1).max(64).default('telco-v1'),
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

export const listRowsQuery = z.object({
  tier: tierSchema.optional(),
  customerId: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('Rows whose customer id starts with this.'),
  sort: z.enum(['probability_desc', 'probability_asc', 'row']).default('probability_desc'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});

export const scoredRowSchema = z.object({
  row: z.number().int().describe('1-based position in the uploaded file, below the header.'),
  customerId: z.string().nullable(),
  churnProbability: z.number().nullable(),
  riskTier: tierSchema.nullable(),
  topReasons: z.array(z.string()),
  error: z.string().nullable(),
  values: z.record(z.string(), z.string()).describe('Your columns, as uploaded.'),
});
