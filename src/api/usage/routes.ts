import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../server.js';

const limit = z.number().int().nullable().describe('The limit the operator set; null: unlimited');

export const usageSchema = z.object({
  storedBytes: z.object({
    used: z.number().int().describe('Uploads plus results (and their rows indexes), in bytes'),
    limit,
    uploads: z.number().int(),
    results: z.number().int(),
  }),
  uploadsToday: z.object({
    used: z
      .number()
      .int()
      .describe('Uploads begun since 00:00 UTC that were not refused, deleted ones included'),
    limit,
    resetsAt: z.string().describe('The next 00:00 UTC, when the count starts again'),
  }),
  activeJobs: z.object({
    used: z.number().int().describe('Predictions queued or running plus models training'),
    limit,
    predictions: z.number().int(),
    trainings: z.number().int(),
  }),
  rateLimit: z
    .object({
      perSecond: z.number().describe('Requests added back per second'),
      burst: z.number().int().describe('Requests that may be made at once'),
      remaining: z
        .number()
        .int()
        .describe('Requests that may be made now, this one counted (per API process)'),
    })
    .nullable()
    .describe('null: no rate limit'),
});

export function registerUsageRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/usage',
    {
      schema: {
        summary: 'Your use of each quota and its limit',
        tags: ['usage'],
        response: { 200: usageSchema },
      },
    },
    async (request) => {
      const { usage, limits } = await deps.quotas.usage(request.userId);
      const orNull = (value: number) => (value > 0 ? value : null);
      const limiter = deps.rateLimiter;
      return {
        storedBytes: {
          used: usage.storedBytes,
          limit: orNull(limits.storedBytes),
          uploads: usage.uploadBytes,
          results: usage.resultBytes,
        },
        uploadsToday: {
          used: usage.uploadsToday,
          limit: orNull(limits.uploadsPerDay),
          resetsAt: usage.dayEnd.toISOString(),
        },
        activeJobs: {
          used: usage.activePredictions + usage.activeTrainings,
          limit: orNull(limits.activeJobs),
          predictions: usage.activePredictions,
          trainings: usage.activeTrainings,
        },
        rateLimit:
          limits.rate.perSecond > 0
            ? {
                perSecond: limits.rate.perSecond,
                burst: limits.rate.burst,
                remaining: limiter.peek(request.userId, limits.rate),
              }
            : null,
      };
    },
  );
}
