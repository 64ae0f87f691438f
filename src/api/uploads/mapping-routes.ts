import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { saveColumnOverrides } from '../../db/column-mappings.js';
import { findUpload } from '../../db/uploads.js';
import { listHeaders } from '../../model/headers.js';
import type { ModelFile } from '../../model/model-file.js';
import { ApiError, notFound } from '../errors.js';
import { checkUploadFit, resolveModel, type UploadFit } from '../fit-check.js';
import type { ApiDeps } from '../server.js';
import { uploadIdParams } from './schema.js';

const inputFitSchema = z.object({
  input: z.string().describe("The model input's name."),
  kind: z.enum(['numeric', 'boolean', 'categorical']),
  reads: z.enum(['number', 'date', 'duration', 'yes/no', 'category']),
  column: z.string().nullable().describe('Your column that feeds it; null when none was found.'),
  matchedBy: z
    .enum(['override', 'exact', 'synonym'])
    .nullable()
    .describe('How the column was found: your choice, its exact name, or a known synonym.'),
  closest: z.array(z.string()).describe('For an input with no column: headers that nearly match.'),
  importance: z.number().describe("Share of the model's importance this input carries (0-1)."),
  present: z.number().int().describe('Non-blank values in the rows checked.'),
  parsed: z.number().int().describe('Values that read as the input expects.'),
  unknownCategories: z.number().int().describe('Values in a category the model never saw.'),
  examples: z.array(z.string()).describe('Up to three values that could not be read.'),
});

export const mappingSchema = z.object({
  uploadId: z.uuid(),
  modelId: z.string(),
  overrides: z
    .record(z.string(), z.string())
    .describe('Your choices of column per model input (PUT this object to change them).'),
  rowsChecked: z.number().int(),
  inputs: z.array(inputFitSchema),
  unusedColumns: z.array(z.string()),
  coverage: z.number().describe("Share of the model's importance your file carries (0-1)."),
  verdict: z
    .enum(['good', 'usable', 'poor'])
    .describe(
      'good: every input found and readable; usable: at least 90% of the importance; poor: scoring is refused unless allowPartialFit.',
    ),
  message: z.string(),
});

const mappingQuery = z.object({
  modelId: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe('A shipped model or one you trained; default: your default model, as scoring does.'),
});

function present(uploadId: string, modelId: string, fit: UploadFit) {
  return { uploadId, modelId, overrides: fit.overrides, ...fit.report };
}

/** Checks a user's choices against the model's inputs and the file's header; a 422 per mistake. */
function validateOverrides(
  overrides: Record<string, string>,
  model: ModelFile,
  modelId: string,
  headers: readonly string[],
): void {
  const inputs = model.columns.map((column) => column.name);
  const usedBy = new Map<string, string>();
  for (const [input, column] of Object.entries(overrides)) {
    if (!inputs.includes(input)) {
      throw new ApiError(
        422,
        'unknown_input',
        `Model "${modelId}" has no input "${input}". Its inputs: ${inputs.join(', ')}.`,
      );
    }
    if (!headers.some((header) => header === column.trim())) {
      throw new ApiError(
        422,
        'unknown_column',
        `Your file has no column "${column}" (chosen for ${input}). Its columns: ${listHeaders(headers)}.`,
      );
    }
    const other = usedBy.get(column.trim());
    if (other !== undefined) {
      throw new ApiError(
        422,
        'column_used_twice',
        `The column "${column}" is chosen for both ${other} and ${input}; one column can feed one input.`,
      );
    }
    usedBy.set(column.trim(), input);
  }
}

export function registerMappingRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/uploads/:id/mapping',
    {
      schema: {
        summary:
          'How your file fits a model: the column feeding each input, how its values read, a verdict',
        tags: ['uploads'],
        params: uploadIdParams,
        querystring: mappingQuery,
        response: { 200: mappingSchema },
      },
    },
    async (request) => {
      const { model, modelId } = await resolveModel(deps, request.userId, request.query.modelId);
      const upload = await findUpload(deps.db, request.userId, request.params.id);
      if (!upload) throw notFound('upload');
      return present(upload.id, modelId, await checkUploadFit(deps, upload, model, modelId));
    },
  );

  api.put(
    '/uploads/:id/mapping',
    {
      schema: {
        summary: 'Choose which of your columns feeds which model input; scoring uses your choices',
        tags: ['uploads'],
        params: uploadIdParams,
        querystring: mappingQuery,
        body: z
          .record(z.string().min(1).max(200), z.string().min(1).max(1000))
          .describe('{ "<model input>": "<your column>" }; {} clears your choices.'),
        response: { 200: mappingSchema },
      },
    },
    async (request) => {
      const { model, modelId } = await resolveModel(deps, request.userId, request.query.modelId);
      const upload = await findUpload(deps.db, request.userId, request.params.id);
      if (!upload) throw notFound('upload');
      const overrides = Object.fromEntries(
        Object.entries(request.body).map(([input, column]) => [input, column.trim()]),
      );
      const fit = await checkUploadFit(deps, upload, model, modelId, {
        overrides,
        validate: (headers) => validateOverrides(overrides, model, modelId, headers),
      });
      await saveColumnOverrides(
        deps.db,
        { userId: request.userId, uploadId: upload.id, modelId },
        overrides,
      );
      return present(upload.id, modelId, fit);
    },
  );
}
