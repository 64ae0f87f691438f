import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { findDefaultModel, listModels, setDefaultModel, softDeleteModel } from '../../db/models.js';
import type { Upload } from '../../db/schema.js';
import { findTableColumns, setTableColumns } from '../../db/settings.js';
import { findUpload } from '../../db/uploads.js';
import { submitTraining } from '../../jobs/submit.js';
import { epochDays, isoOfEpochDays, parseAsOf } from '../../model/dates.js';
import { listHeaders } from '../../model/headers.js';
import { countLabelValues, findLabelColumn, LabelError, labelReading } from '../../model/labels.js';
import { templateCsv } from '../../model/template.js';
import { tierRuleProblem } from '../../model/tier-rules.js';
import { ApiError, notFound } from '../errors.js';
import { capitalise, readUploadSample, resolveModel, SHIPPED_DEFAULT_MODEL } from '../fit-check.js';
import { attachment } from '../headers.js';
import type { ApiDeps } from '../server.js';
import { modelCard, presentShippedModel, presentUserModel } from './present.js';
import {
  modelCardSchema,
  modelIdParams,
  modelSchema,
  settingsSchema,
  settingsUpdateSchema,
  trainModelBody,
} from './schema.js';

export function registerModelRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/models',
    {
      schema: {
        summary: 'List the models you can score with: the shipped ones and those you trained',
        tags: ['models'],
        response: { 200: z.object({ models: z.array(modelSchema) }) },
      },
    },
    async (request) => {
      const defaultId = (await findDefaultModel(deps.db, request.userId)) ?? SHIPPED_DEFAULT_MODEL;
      const shipped = deps.models
        .shippedModels()
        .map(([id, model]) => presentShippedModel(id, model, id === defaultId));
      const trained = (await listModels(deps.db, request.userId)).map((row) =>
        presentUserModel(row, row.id === defaultId),
      );
      return { models: [...shipped, ...trained] };
    },
  );

  api.post(
    '/models',
    {
      schema: {
        summary: 'Train a model on one of your uploads: 202 and a model in status "training"',
        tags: ['models'],
        body: trainModelBody,
        response: { 202: modelSchema },
      },
    },
    async (request, reply) => {
      const { uploadId, label, name, positiveValue, asOf, tiers } = request.body;
      const tierProblem = tiers && tierRuleProblem(tiers);
      if (tierProblem) throw new ApiError(422, 'bad_tiers', `tiers: ${tierProblem}.`);
      const upload = await findUpload(deps.db, request.userId, uploadId);
      if (!upload) throw notFound('upload');
      let asOfDays = epochDays(upload.created_at);
      if (asOf !== undefined) {
        try {
          asOfDays = parseAsOf(asOf);
        } catch (error) {
          throw new ApiError(422, 'bad_as_of', `asOf: ${(error as Error).message}`);
        }
      }
      await checkLabel(deps, upload, label, positiveValue);
      const model = await submitTraining(
        deps.db,
        deps.signingKeys,
        {
          userId: request.userId,
          upload,
          name,
          label,
          positiveValue: positiveValue ?? null,
          asOf: isoOfEpochDays(asOfDays),
          ...(tiers ? { tiers } : {}),
        },
        deps.quotas.jobTransaction(upload.id),
      );
      deps.relay.trigger();
      reply.code(202).header('location', `/v1/models/${model.id}`);
      return presentUserModel(model, false);
    },
  );

  api.get(
    '/models/:id',
    {
      schema: {
        summary: 'A model and, once ready, its card: metrics, calibration, tiers, importance',
        tags: ['models'],
        params: modelIdParams,
        response: { 200: modelCardSchema },
      },
    },
    async (request) => {
      const { userId } = request;
      const resolved = await deps.models.resolve(userId, request.params.id);
      const defaultId = (await findDefaultModel(deps.db, userId)) ?? SHIPPED_DEFAULT_MODEL;
      const isDefault = resolved.id === defaultId;
      switch (resolved.kind) {
        case 'unknown':
          throw notFound('model');
        case 'not-ready':
          return { ...presentUserModel(resolved.row, isDefault), card: null };
        case 'shipped':
          return {
            ...presentShippedModel(resolved.id, resolved.model, isDefault),
            card: modelCard(resolved.model),
          };
        case 'user':
          return { ...presentUserModel(resolved.row, isDefault), card: modelCard(resolved.model) };
      }
    },
  );

  api.delete(
    '/models/:id',
    {
      schema: {
        summary: 'Delete a model you trained (predictions made with it keep their results)',
        tags: ['models'],
        params: modelIdParams,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      if (deps.models.shippedModels().some(([id]) => id === request.params.id)) {
        throw new ApiError(409, 'shipped_model', 'A shipped model cannot be deleted.');
      }
      const deleted = await softDeleteModel(deps.db, request.userId, request.params.id);
      if (!deleted) throw notFound('model');
      // Best effort: the row is gone from every list already; a file left behind is unreachable.
      if (deleted.object_key !== null) {
        await deps.blobs.delete(deleted.object_key).catch((error: unknown) => {
          request.log.warn({ err: error, modelId: deleted.id }, 'could not remove a model file');
        });
      }
      reply.code(204);
      return null;
    },
  );

  api.get(
    '/settings',
    {
      schema: {
        summary: 'Your settings: the default model, the columns your customers table shows',
        tags: ['models'],
        response: { 200: settingsSchema },
      },
    },
    async (request) => readSettings(deps, request.userId),
  );

  api.put(
    '/settings',
    {
      schema: {
        summary:
          'Change your settings: the default model (null: telco-v1), the columns your customers table shows',
        tags: ['models'],
        body: settingsUpdateSchema,
        response: { 200: settingsSchema },
      },
    },
    async (request) => {
      const { defaultModelId, tableColumns } = request.body;
      // Checked whole before anything is stored.
      if (defaultModelId !== undefined && defaultModelId !== null) {
        await resolveModel(deps, request.userId, defaultModelId);
      }
      if (tableColumns && new Set(tableColumns).size !== tableColumns.length) {
        throw new ApiError(
          422,
          'column_listed_twice',
          'A column is listed twice in tableColumns; list each once, in the order to show them.',
        );
      }
      if (defaultModelId !== undefined) {
        await setDefaultModel(deps.db, request.userId, defaultModelId);
      }
      if (tableColumns) await setTableColumns(deps.db, request.userId, tableColumns);
      return readSettings(deps, request.userId);
    },
  );

  api.get(
    '/models/:id/template.csv',
    {
      schema: {
        summary: 'An example CSV with the columns a model reads, and three made-up customers',
        tags: ['models'],
        params: modelIdParams,
        produces: ['text/csv'],
      },
    },
    async (request, reply) => {
      const { model } = await resolveModel(deps, request.userId, request.params.id);
      reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', attachment(`${request.params.id}-template.csv`));
      return reply.send(templateCsv(model));
    },
  );
}

async function readSettings(deps: ApiDeps, userId: string) {
  return {
    defaultModelId: await findDefaultModel(deps.db, userId),
    tableColumns: await findTableColumns(deps.db, userId),
  };
}

/**
 * What can be known about the label before training is refused now: a column the file lacks,
 * values that cannot say who churned. Judged on the first rows; what they cannot tell (a file
 * sorted by its label shows one value first; churners may all come later) is left to the job.
 */
async function checkLabel(
  deps: ApiDeps,
  upload: Upload,
  label: string,
  positiveValue: string | undefined,
): Promise<void> {
  const sample = await readUploadSample(deps, upload);
  const index = findLabelColumn(sample.headers, label);
  if (index === -1) {
    throw new ApiError(
      422,
      'unknown_label',
      `Your file has no column "${label}". Its columns: ${listHeaders(sample.headers)}.`,
    );
  }
  const counts = countLabelValues(sample.records.map((record) => record[index] ?? ''));
  try {
    labelReading(sample.headers[index] as string, counts, positiveValue);
  } catch (error) {
    if (!(error instanceof LabelError)) throw error;
    const wholeFile = sample.records.length >= upload.row_count;
    // More rows cannot make three values two, nor give a churn word to two values without one.
    const certain = wholeFile || (error.problem === 'unreadable' && counts.size >= 2);
    if (certain) throw new ApiError(422, 'bad_label', capitalise(error.message));
  }
}
