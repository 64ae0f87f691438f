import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ModelFile } from '../../model/model-file.js';
import { templateCsv } from '../../model/template.js';
import { requireModel } from '../fit-check.js';
import type { ApiDeps } from '../server.js';

export const modelSchema = z.object({
  id: z.string(),
  description: z.string(),
  trainedAt: z.string().nullable(),
  metrics: z.record(z.string(), z.number()),
  requiredColumns: z.array(z.string()),
});

export type ModelInfo = z.infer<typeof modelSchema>;

/** The models a prediction may name: the shipped ones. */
export interface ModelCatalog {
  list(): ModelInfo[];
  /** The model file, for the fit report and the example file; undefined for an unknown id. */
  get(id: string): ModelFile | undefined;
}

export function registerModelRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/models',
    {
      schema: {
        summary: 'List the models you can score with',
        tags: ['models'],
        response: { 200: z.object({ models: z.array(modelSchema) }) },
      },
    },
    async () => ({ models: deps.models.list() }),
  );

  app.withTypeProvider<ZodTypeProvider>().get(
    '/models/:id/template.csv',
    {
      schema: {
        summary: 'An example CSV with the columns a model reads, and three made-up customers',
        tags: ['models'],
        params: z.object({ id: z.string().min(1).max(200) }),
        produces: ['text/csv'],
      },
    },
    async (request, reply) => {
      const model = requireModel(deps, request.params.id);
      const name = `${request.params.id.replace(/[^A-Za-z0-9._-]/g, '_')}-template.csv`;
      reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`);
      return reply.send(templateCsv(model));
    },
  );
}
