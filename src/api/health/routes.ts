import type { FastifyInstance } from 'fastify';
import { summariseSigningKeys } from '../../jobs/signing-keys.js';
import type { ApiDeps } from '../server.js';

/** Liveness, readiness and Prometheus metrics: unauthenticated, outside /v1. */
export function registerHealthRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/healthz', { schema: { hide: true } }, async (_request, reply) => {
    const snapshot = deps.monitor.snapshot;
    const alarms = snapshot?.alarms ?? [];
    reply.send({
      status: alarms.some((a) => a.active) ? 'alarm' : 'ok',
      alarms,
      queue: snapshot?.queue ?? null,
      outboxPending: snapshot?.outboxPending ?? null,
      observedAt: snapshot?.at ?? null,
      // Key ids and a fingerprint, never a secret: every worker must verify what every API signs with.
      signingKeys: summariseSigningKeys(deps.signingKeys),
    });
  });

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const problems: string[] = [];
    try {
      await deps.db.selectFrom('predictions').select('id').limit(1).execute();
    } catch {
      problems.push('database unavailable');
    }
    if (deps.monitor.error) problems.push('monitoring cannot read the queue or the outbox');
    reply.code(problems.length === 0 ? 200 : 503).send({ ready: problems.length === 0, problems });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply
      .header('content-type', deps.metrics.registry.contentType)
      .send(await deps.metrics.registry.metrics());
  });
}
