import type { FastifyInstance } from 'fastify';
import { summariseSigningKeys } from '../../jobs/signing-keys.js';
import type { ApiDeps } from '../server.js';

/**
 * Liveness, readiness and Prometheus metrics: unauthenticated, outside /v1. /healthz answers 200
 * while the process lives (liveness stays simple) but its status says `degraded` while a backend
 * fails; /readyz answers 503 with each failing backend, what is wrong and the fix.
 */
export function registerHealthRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/healthz', { schema: { hide: true } }, async (_request, reply) => {
    const snapshot = deps.monitor.snapshot;
    const alarms = snapshot?.alarms ?? [];
    const failing = (deps.dependencies?.failing.length ?? 0) > 0;
    reply.send({
      status: failing ? 'degraded' : alarms.some((a) => a.active) ? 'alarm' : 'ok',
      alarms,
      dependencies: deps.dependencies?.statuses ?? [],
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
    for (const status of deps.dependencies?.failing ?? []) {
      // The live query above speaks for the database; its cached check may be older.
      if (status.name !== 'database') problems.push(`${status.backend}: ${status.detail}`);
    }
    if (deps.monitor.error) problems.push('monitoring cannot read the queue or the outbox');
    reply.code(problems.length === 0 ? 200 : 503).send({
      ready: problems.length === 0,
      problems,
      checks: deps.dependencies?.statuses ?? [],
    });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply
      .header('content-type', deps.metrics.registry.contentType)
      .send(await deps.metrics.registry.metrics());
  });
}
