/**
 * The model file: versioned JSON that holds everything scoring needs (feature spec, synonyms,
 * weights, calibration, tier cut-offs) and everything needed to trust it (training metrics and a
 * fingerprint of the training data).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ModelFileError } from './errors.js';
import { tierRuleSchema } from './tier-rules.js';

export const MODEL_FORMAT = 'churnline-model';
/** Written by this version. Version 1 files (no dates, no label rule) still load unchanged. */
export const MODEL_FORMAT_VERSION = 2;
const READABLE_VERSIONS: readonly number[] = [1, MODEL_FORMAT_VERSION];

const numericTransform = z.enum(['linear', 'log1p', 'sqrt', 'square']);
export type NumericTransform = z.infer<typeof numericTransform>;
/** What training may add for a numeric column: a transform term, or bins (a step function). */
const featureTransform = z.enum([...numericTransform.options, 'bins']);
export type FeatureTransform = z.infer<typeof featureTransform>;

const term = z.object({
  transform: numericTransform,
  /** Mean and scale of the transformed value in the training data (for standardising). */
  mean: z.number(),
  scale: z.number().positive(),
  weight: z.number(),
});

/** Where a numeric column's values come from when the file holds dates or durations. */
const numericSource = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('date'), order: z.enum(['ymd', 'mdy', 'dmy']) }),
  z.object({ kind: z.literal('duration') }),
]);

const numericColumn = z.object({
  kind: z.literal('numeric'),
  name: z.string(),
  synonyms: z.array(z.string()).min(1),
  /** Dates become days before the as-of time; durations, days. Absent: plain numbers. */
  source: numericSource.optional(),
  terms: z.array(term).min(1),
  /** Present when the training data had blanks: the weight of "this value is missing". */
  missing: z.object({ mean: z.number(), weight: z.number() }).optional(),
  /**
   * A step function over the column's deciles, for thresholds and saturations a smooth term
   * misses. A value goes to the first bin whose upper edge is at least it (past the last edge,
   * the last bin); blanks go to a bin of their own after those when `missingLevel`, which then
   * replaces `missing`. Each level's contribution is its weight less the frequency-weighted mean.
   */
  bins: z
    .object({
      edges: z.array(z.number()),
      missingLevel: z.boolean(),
      levels: z.array(z.object({ frequency: z.number(), weight: z.number() })),
    })
    .optional(),
});

const booleanColumn = z.object({
  kind: z.literal('boolean'),
  name: z.string(),
  synonyms: z.array(z.string()).min(1),
  trueLabel: z.string(),
  falseLabel: z.string(),
  mean: z.number(),
  weight: z.number(),
});

const categoricalColumn = z.object({
  kind: z.literal('categorical'),
  name: z.string(),
  synonyms: z.array(z.string()).min(1),
  levels: z.array(
    z.object({
      /** Normalised key that input values are matched on. */
      key: z.string(),
      /** The spelling shown in explanations. */
      label: z.string(),
      /** Share of training rows at this level (the centring of its one-hot column). */
      frequency: z.number(),
      weight: z.number(),
    }),
  ),
});

export const modelColumnSchema = z.discriminatedUnion('kind', [
  numericColumn,
  booleanColumn,
  categoricalColumn,
]);
export type ModelColumn = z.infer<typeof modelColumnSchema>;
export type NumericModelColumn = z.infer<typeof numericColumn>;
export type BooleanModelColumn = z.infer<typeof booleanColumn>;
export type CategoricalModelColumn = z.infer<typeof categoricalColumn>;

const calibrationBin = z.object({
  from: z.number(),
  to: z.number(),
  rows: z.number(),
  meanPredicted: z.number(),
  observedRate: z.number(),
});

const tierMetric = z.object({
  tier: z.enum(['high', 'medium', 'low']),
  share: z.number(),
  churnRate: z.number(),
  precision: z.number(),
  recall: z.number(),
});

export const evaluationSchema = z.object({
  rows: z.number(),
  rocAuc: z.number(),
  prAuc: z.number(),
  brier: z.number(),
  logLoss: z.number(),
  calibration: z.array(calibrationBin),
  tiers: z.array(tierMetric),
});
export type Evaluation = z.infer<typeof evaluationSchema>;

export const modelFileSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  formatVersion: z.union([z.literal(1), z.literal(MODEL_FORMAT_VERSION)]),
  name: z.string(),
  label: z.string(),
  /** Logit at the training means: every contribution is measured from here. */
  intercept: z.number(),
  columns: z.array(modelColumnSchema).min(1),
  calibration: z.object({ method: z.literal('platt'), slope: z.number(), intercept: z.number() }),
  /** Probability cut-offs of the tiers, and the rule they were drawn by (absent: the default). */
  tiers: z.object({ high: z.number(), medium: z.number(), rule: tierRuleSchema.optional() }),
  training: z.object({
    rows: z.number(),
    positives: z.number(),
    /** The training file's dates were measured back from this instant (ISO 8601). */
    asOf: z.string().optional(),
    /** Which label values meant churned, and how that was decided. */
    label: z
      .object({
        positiveKeys: z.array(z.string()),
        rule: z.enum(['yes/no', 'churn word', 'given']),
      })
      .optional(),
    /** Rows left out of training because their label was blank. */
    unlabelledRows: z.number().optional(),
    /**
     * Per model column, the standard deviation of its contribution to the logit over the training
     * rows: how much it moves scores (the model card's importance; the fit report's weights).
     */
    importance: z.array(z.object({ column: z.string(), spread: z.number() })).optional(),
    /**
     * Each column's ROC AUC alone (either direction, on the rows features were chosen on), best
     * first: what the model must beat, and columns so good they are probably leaks.
     */
    singleColumn: z.array(z.object({ column: z.string(), rocAuc: z.number() })).optional(),
    fingerprint: z.object({ sha256: z.string(), rows: z.number(), columns: z.number() }),
    l2: z.number(),
    skippedColumns: z.array(z.object({ column: z.string(), reason: z.string() })),
    engineered: z.array(
      z.object({
        column: z.string(),
        transform: featureTransform,
        kept: z.boolean(),
        /** Drop in out-of-fold log loss; when `screened`, the in-sample estimate that ruled it out. */
        gain: z.number(),
        screened: z.boolean().optional(),
      }),
    ),
    crossValidation: z.object({
      folds: z.number(),
      repeats: z.number(),
      /** Mean over repeats of metrics on out-of-fold predictions. */
      mean: evaluationSchema.omit({ calibration: true, tiers: true }),
      perRepeat: z.array(evaluationSchema),
    }),
  }),
});
export type ModelFile = z.infer<typeof modelFileSchema>;

/** Stable text: the same model always serialises to the same bytes. */
export function serialiseModel(model: ModelFile): string {
  return `${JSON.stringify(model, null, 2)}\n`;
}

export function parseModel(text: string, source: string): ModelFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ModelFileError(`${source} is not a model file: it is not valid JSON.`);
  }
  const format = (json as { format?: unknown; formatVersion?: unknown }) ?? {};
  if (format.format !== MODEL_FORMAT) {
    throw new ModelFileError(`${source} is not a Churnline model file.`);
  }
  if (!READABLE_VERSIONS.includes(format.formatVersion as number)) {
    throw new ModelFileError(
      `${source} is model format version ${String(format.formatVersion)}; this Churnline reads versions ${READABLE_VERSIONS.join(' and ')}.`,
    );
  }
  const parsed = modelFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ModelFileError(
      `${source} is not a valid model file: ${issue?.path.join('.')}: ${issue?.message}.`,
    );
  }
  return parsed.data;
}

/** The models that ship with Churnline, by name. */
export const SHIPPED_MODELS = ['telco-v1'] as const;

/**
 * `models/` at the repository root. This module sits two levels deep in both `src/` and `dist/`,
 * so the same relative URL works from the sources and from the build.
 */
export function shippedModelPath(name: string): string {
  return fileURLToPath(new URL(`../../models/${name}.json`, import.meta.url));
}

/** Loads a shipped model by name (e.g. `telco-v1`) or a model file by path. */
export async function loadModel(nameOrPath: string): Promise<ModelFile> {
  const shipped = (SHIPPED_MODELS as readonly string[]).includes(nameOrPath);
  const file = shipped ? shippedModelPath(nameOrPath) : nameOrPath;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModelFileError(
      code === 'ENOENT'
        ? `no model "${nameOrPath}": give a shipped model (${SHIPPED_MODELS.join(', ')}) or the path of a model file.`
        : `cannot read the model file ${file}: ${code ?? String(error)}.`,
    );
  }
  return parseModel(text, file);
}
