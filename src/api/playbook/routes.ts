/**
 * `/v1/playbook`: what the user's team does about a customer at risk (see model/playbook.ts).
 * Predictions made afterwards recommend from it; those made before keep theirs.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { findPlaybook, setPlaybook } from '../../db/settings.js';
import { DEFAULT_PLAYBOOK, playbookSchema } from '../../model/playbook.js';
import type { ApiDeps } from '../server.js';

const playbookView = z.object({
  playbook: playbookSchema,
  isDefault: z.boolean().describe('The playbook the service ships (you have not saved your own).'),
});

export function registerPlaybookRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const read = async (userId: string) => {
    const own = await findPlaybook(deps.db, userId);
    return { playbook: own ?? DEFAULT_PLAYBOOK, isDefault: own === null };
  };

  api.get(
    '/playbook',
    {
      schema: {
        summary: 'Your playbook: the recommended action per reason and per risk tier',
        tags: ['playbook'],
        response: { 200: playbookView },
      },
    },
    async (request) => read(request.userId),
  );

  api.put(
    '/playbook',
    {
      schema: {
        summary: 'Save your playbook; predictions made afterwards recommend from it',
        tags: ['playbook'],
        body: playbookSchema,
        response: { 200: playbookView },
      },
    },
    async (request) => {
      await setPlaybook(deps.db, request.userId, request.body);
      return read(request.userId);
    },
  );

  api.delete(
    '/playbook',
    {
      schema: {
        summary: 'Go back to the playbook the service ships',
        tags: ['playbook'],
        response: { 200: playbookView },
      },
    },
    async (request) => {
      await setPlaybook(deps.db, request.userId, null);
      return read(request.userId);
    },
  );
}
