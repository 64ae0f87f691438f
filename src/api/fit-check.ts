/**
 * The column fit of an upload and a model, as the API needs it: the report on a sample of the
 * stored file, read with the user's saved column choices and the upload's time as the as-of. The
 * mapping routes show it; creating a prediction refuses, before anything is queued, a file that
 * fits too poorly.
 */
import { BlobError } from '../blobs/port.js';
import { findColumnOverrides } from '../db/column-mappings.js';
import { findDefaultModel, listModels } from '../db/models.js';
import type { Upload } from '../db/schema.js';
import { epochDays } from '../model/dates.js';
import { CsvInputError } from '../model/errors.js';
import {
  type CsvSample,
  type FitReport,
  fitReport,
  listNames,
  sampleCsv,
} from '../model/fit-report.js';
import type { ModelFile } from '../model/model-file.js';
import { ApiError } from './errors.js';
import type { ApiDeps } from './server.js';

/** The model a prediction uses when it names none and the user has chosen no default. */
export const SHIPPED_DEFAULT_MODEL = 'telco-v1';

/**
 * The ready model a request names, or when it names none the user's default, else the shipped
 * default: a 422 listing the ones there are for an unknown id (another user's model is unknown
 * too), a 409 for a model still training or failed.
 */
export async function resolveModel(
  deps: ApiDeps,
  userId: string,
  named: string | undefined,
): Promise<{ model: ModelFile; modelId: string }> {
  const modelId = named ?? (await findDefaultModel(deps.db, userId)) ?? SHIPPED_DEFAULT_MODEL;
  let resolved = await deps.models.resolve(userId, modelId);
  // A default deleted since it was chosen falls back rather than fail every request.
  if (named === undefined && resolved.kind === 'unknown') {
    resolved = await deps.models.resolve(userId, SHIPPED_DEFAULT_MODEL);
  }
  if (resolved.kind === 'shipped' || resolved.kind === 'user') {
    return { model: resolved.model, modelId: resolved.id };
  }
  if (resolved.kind === 'not-ready') {
    const { row } = resolved;
    throw new ApiError(
      409,
      'model_not_ready',
      row.status === 'training'
        ? `Model "${row.name}" is still training; use it once GET /v1/models/${row.id} says ready.`
        : `Model "${row.name}" failed to train (${row.error_message ?? 'no reason recorded'}); train it again.`,
    );
  }
  const ready = (await listModels(deps.db, userId)).filter((row) => row.status === 'ready');
  const known = [
    ...deps.models.shippedModels().map(([id]) => id),
    ...ready.map((row) => `${row.id} (${row.name})`),
  ].join(', ');
  throw new ApiError(422, 'unknown_model', `There is no model "${modelId}". Available: ${known}.`);
}

export interface UploadFit {
  report: FitReport;
  overrides: Record<string, string>;
}

/**
 * The fit with the saved choices, or with `proposed` ones, which `validate` first checks against
 * the file's header.
 */
export async function checkUploadFit(
  deps: ApiDeps,
  upload: Upload,
  model: ModelFile,
  modelId: string,
  proposed?: { overrides: Record<string, string>; validate: (headers: string[]) => void },
): Promise<UploadFit> {
  const chosen =
    proposed?.overrides ?? (await findColumnOverrides(deps.db, upload.user_id, upload.id, modelId));
  const sample = await readUploadSample(deps, upload);
  proposed?.validate(sample.headers);
  try {
    const report = fitReport(model, sample.headers, sample.records, {
      delimiter: sample.delimiter,
      asOfDays: epochDays(upload.created_at),
      overrides: chosen,
    });
    return { report, overrides: chosen };
  } catch (error) {
    // Saved choices are checked against the header when saved; this is a file that changed.
    if (error instanceof CsvInputError)
      throw new ApiError(422, 'unknown_column', capitalise(error.message));
    throw error;
  }
}

/** The first rows of an upload's stored file; a 410 when the file is gone. */
export async function readUploadSample(deps: ApiDeps, upload: Upload): Promise<CsvSample> {
  try {
    return await sampleCsv(await deps.blobs.get(upload.object_key));
  } catch (error) {
    if (error instanceof BlobError && error.code === 'not_found') {
      throw new ApiError(
        410,
        'upload_missing',
        'The file of this upload is no longer stored. Upload it again.',
      );
    }
    throw error;
  }
}

export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * A 422 for a file the model can barely read, naming what is missing and the ways out; undefined
 * when scoring may go ahead.
 */
export function poorFitError(
  fit: FitReport,
  uploadId: string,
  modelId: string,
  allowPartialFit: boolean,
): ApiError | undefined {
  const missing = fit.inputs.filter((input) => input.column === null).map((input) => input.input);
  const coverage = `${Math.round(fit.coverage * 100)}%`;
  if (fit.coverage === 0) {
    return new ApiError(
      422,
      'no_fit',
      `None of the inputs of model "${modelId}" could be read from this file, so there is nothing to score with. Map your columns to the model's inputs (PUT /v1/uploads/${uploadId}/mapping?modelId=${modelId}) or train a model on this file.`,
    );
  }
  if (fit.verdict !== 'poor' || allowPartialFit) return undefined;
  const listed = listNames(missing);
  return new ApiError(
    422,
    'poor_fit',
    `This file carries only ${coverage} of what model "${modelId}" relies on${missing.length > 0 ? ` (no column for ${listed})` : ''}, too little for its scores to mean much. Three ways out: map your columns to the missing inputs (GET and PUT /v1/uploads/${uploadId}/mapping?modelId=${modelId}), train a model on this file, or score anyway with "allowPartialFit": true (missing inputs then count as an average customer's).`,
  );
}
