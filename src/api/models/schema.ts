import { z } from 'zod';
import { tierRuleSchema } from '../../model/tier-rules.js';

const metricsSchema = z
  .object({ rocAuc: z.number(), prAuc: z.number(), brier: z.number(), logLoss: z.number() })
  .describe('Means over 5-fold x 3 repeated cross-validation, out-of-fold and calibrated.');

export const modelSchema = z.object({
  id: z.string().describe("A shipped model's name, or the id of a model you trained."),
  name: z.string(),
  source: z.enum(['shipped', 'trained']),
  status: z.enum(['training', 'ready', 'failed']).describe('Only a ready model can score.'),
  description: z.string(),
  createdAt: z.string().nullable(),
  trainedAt: z.string().nullable(),
  metrics: metricsSchema.nullable(),
  rows: z.number().int().nullable().describe('Labelled rows it was trained on.'),
  uploadId: z.string().nullable().describe('The upload it was trained on; null for shipped ones.'),
  churners: z.number().int().nullable(),
  requiredColumns: z.array(z.string()).describe('The inputs it reads (empty until ready).'),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  progress: z
    .object({
      stage: z.enum(['reading the file', 'choosing features', 'cross-validating']),
      done: z.number().int(),
      total: z.number().int(),
    })
    .nullable()
    .describe('While training: the stage, and cross-validation runs done of an estimated total.'),
  isDefault: z.boolean().describe('Predictions that name no model use this one.'),
});

export type ModelView = z.infer<typeof modelSchema>;

export const trainModelBody = z.object({
  uploadId: z.uuid({ error: 'must be the id of one of your uploads (UUID)' }),
  label: z.string().min(1).max(200).describe('The column that says whether a customer churned.'),
  name: z.string().trim().min(1).max(100),
  positiveValue: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe(
      'The label value that means churned, when it is not Yes/True/1 or a word such as Churned.',
    ),
  asOf: z
    .string()
    .max(40)
    .optional()
    .describe("Dates count back from this day (YYYY-MM-DD); default: the upload's time."),
  tiers: tierRuleSchema
    .optional()
    .describe(
      'How to draw the risk tiers: probability cut-offs, multiples of your churn rate ("base-rate"), or shares of customers ranked by risk ("top-share", e.g. high 0.1, medium 0.2). Default: high from 50%, medium from the churn rate.',
    ),
});

const bin = z.object({
  from: z.number(),
  to: z.number(),
  rows: z.number().int(),
  meanPredicted: z.number(),
  observedRate: z.number(),
});

export const modelCardSchema = modelSchema.extend({
  card: z
    .object({
      label: z.object({
        column: z.string(),
        churnedValues: z.array(z.string()).describe('Label values read as churned.'),
        rule: z.string(),
      }),
      unlabelledRows: z.number().int(),
      baseRate: z.number().describe('Share of training rows that churned.'),
      asOf: z.string().nullable().describe('Dates in the training file counted back from here.'),
      fingerprint: z.object({
        sha256: z.string(),
        rows: z.number().int(),
        columns: z.number().int(),
      }),
      crossValidation: z.object({ folds: z.number().int(), repeats: z.number().int() }),
      calibration: z.array(bin).describe('Predicted against observed churn, out-of-fold.'),
      tiers: z.array(
        z.object({
          tier: z.enum(['high', 'medium', 'low']),
          from: z.number().describe('Calibrated probability at which the tier starts.'),
          share: z.number(),
          churnRate: z.number(),
          liftOverBaseRate: z.number(),
          precision: z.number(),
          recall: z.number(),
        }),
      ),
      importance: z
        .array(z.object({ column: z.string(), share: z.number() }))
        .describe('Share of how much each input moves scores, largest first.'),
      inputs: z.array(
        z.object({
          column: z.string(),
          reads: z.enum(['number', 'date', 'duration', 'yes/no', 'category']),
        }),
      ),
      skippedColumns: z.array(z.object({ column: z.string(), reason: z.string() })),
      engineered: z.array(z.string()).describe('Transforms kept because they lowered the loss.'),
      tierRule: z.string().describe('How the tiers were drawn, in words.'),
      bestSingleColumn: z
        .object({ column: z.string(), rocAuc: z.number() })
        .nullable()
        .describe('The column that alone ranks churners best: what the model has to beat.'),
      warnings: z
        .array(z.string())
        .describe('What to check before trusting the model, e.g. a column that leaks the label.'),
    })
    .nullable()
    .describe('For a ready model: how it was made and how well it does.'),
});

/** Columns a user may show in the customers table. */
export const MAX_TABLE_COLUMNS = 8;

export const settingsSchema = z.object({
  defaultModelId: z
    .string()
    .nullable()
    .describe('The model predictions use when they name none; null: telco-v1.'),
  tableColumns: z
    .array(z.string().trim().min(1).max(200))
    .max(MAX_TABLE_COLUMNS)
    .describe(
      `Your own columns (by header) the dashboard's customers table shows beside the scores, in order; at most ${MAX_TABLE_COLUMNS}. A file without one of them shows the others.`,
    ),
});

/** PUT /v1/settings: the settings given change; those left out keep their value. */
export const settingsUpdateSchema = settingsSchema.partial();

export const modelIdParams = z.object({ id: z.string().min(1).max(64) });
