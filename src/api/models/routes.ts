import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
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
  has(id: string): boolean;
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
}
