import fastifyMultipart from '@fastify/multipart';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { BlobError, type BlobStore } from '../blobs/port.js';
import type { Db } from '../db/connect.js';
import { InvalidCursorError } from '../db/pagination.js';
import type { SigningKeyring } from '../jobs/message.js';
import type { Logger } from '../log.js';
import type { DependencyChecks } from '../monitor/dependencies.js';
import type { Metrics } from '../monitor/metrics.js';
import type { Monitor } from '../monitor/monitor.js';
import type { TargetPolicy } from '../webhooks/target.js';
import { clientErrorHandler } from './client-errors.js';
import { ApiError, errorBody } from './errors.js';
import { addSecurityHeaders, setSecurityHeaders } from './headers.js';
import { registerHealthRoutes } from './health/routes.js';
import { registerHistoryRoutes } from './history/routes.js';
import type { ModelCatalog } from './models/catalog.js';
import { registerModelRoutes } from './models/routes.js';
import { multipartClientError } from './multipart-errors.js';
import { registerPlaybookRoutes } from './playbook/routes.js';
import { registerPredictionRoutes } from './predictions/routes.js';
import { createRowsReader } from './predictions/rows-reader.js';
import type { Quotas } from './quotas.js';
import { type RateLimiter, rateLimited, setRateLimitHeaders } from './rate-limit.js';
import { declaredLength, drainSmallBody } from './refused-body.js';
import { RunningHandlers } from './running-handlers.js';
import { CHECK_RESPONSES, responseSerializer } from './serializer.js';
import { registerColumnsRoute } from './uploads/columns-route.js';
import { registerMappingRoutes } from './uploads/mapping-routes.js';
import { registerUploadRoutes } from './uploads/routes.js';
import { registerUsageRoutes } from './usage/routes.js';
import { isDashboardRoute, registerWebRoutes, sendDashboard } from './web/routes.js';
import { registerWebhookRoutes } from './webhooks/routes.js';

export interface ApiDeps {
  readonly db: Db;
  readonly blobs: BlobStore;
  /** Sends committed outbox rows to the queue now rather than at the next interval. */
  readonly relay: { trigger(): void };
  readonly signingKeys: SigningKeyring;
  /** Resolves the caller from the Authorization header or rejects with a 401 ApiError. */
  readonly authenticate: (authorization: string | undefined) => Promise<{ userId: string }>;
  readonly models: ModelCatalog;
  readonly metrics: Metrics;
  readonly monitor: Monitor;
  /** Per-backend status for readiness and /healthz; absent: only the database is probed. */
  readonly dependencies?: DependencyChecks;
  readonly log: Logger;
  readonly uploadMaxBytes: number;
  /** SCORE_CHUNK_BYTES: a larger file is scored in chunks (src/jobs/chunks.ts); absent: never. */
  readonly scoreChunkBytes?: number;
  /** Per-user quotas (stored bytes, uploads a day, active jobs), checked in the database. */
  readonly quotas: Quotas;
  /** Requests per second per user, in this process. */
  readonly rateLimiter: RateLimiter;
  /** The built dashboard (index.html and assets/); defaults to this checkout's web/dist. */
  readonly webRoot?: string;
  /** Where users' webhooks may go (src/webhooks/target.ts); the strict policy when absent. */
  readonly webhookTargets?: TargetPolicy;
}

declare module 'fastify' {
  interface FastifyRequest {
    userId: string;
  }
  interface FastifyInstance {
    /** Route handlers still running, for shutdown to wait on (see running-handlers.ts). */
    runningHandlers: RunningHandlers;
  }
}

/** Builds the HTTP API (not listening yet): /v1 resources, health, metrics and /docs. */
export async function buildServer(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'api' }) as FastifyBaseLogger,
    // One line per request, written by the onResponse hook below instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // Requests the HTTP parser refuses (a 1 MB token) still get { error: { code, message } }.
    clientErrorHandler,
    // An id per request in every log line; a caller's own X-Request-Id is kept.
    requestIdHeader: 'x-request-id',
    // What the router refuses before any route runs (a path with a broken percent-escape):
    // the API's error shape, not Fastify's.
    frameworkErrors: (error, _request, generic) => {
      const reply = generic as unknown as FastifyReply;
      setSecurityHeaders(reply);
      const badUrl = error.code === 'FST_ERR_BAD_URL';
      reply
        .code(400)
        .send(
          errorBody(
            badUrl ? 'bad_url' : 'bad_request',
            badUrl
              ? 'The path is not a valid URL: a percent sign must start an escape of two hex digits (%25 for "%" itself).'
              : 'The request is not valid.',
          ),
        );
    },
  });
  addSecurityHeaders(app);
  const handlers = new RunningHandlers();
  handlers.track(app);
  app.decorate('runningHandlers', handlers);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(responseSerializer(CHECK_RESPONSES));
  app.setErrorHandler((error, request, reply) => {
    // How often each limit bites, for the operator deciding whether the defaults fit.
    const quota = error instanceof ApiError ? error.detail.quota : undefined;
    if (quota) deps.metrics.quotaRefusals.inc({ limit: quota.name });
    sendError(error, request, reply);
  });
  app.setNotFoundHandler((request, reply) => {
    if (isDashboardRoute(request)) return sendDashboard(reply, deps.webRoot);
    return reply
      .code(404)
      .send(errorBody('not_found', `No route ${request.method} ${request.url.split('?')[0]}.`));
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Churnline API',
        version: '1.0.0',
        description: 'Upload customer CSVs, score them for churn risk, and read the results.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  await app.register(fastifyMultipart, {
    limits: { fileSize: deps.uploadMaxBytes, files: 1, fields: 10, fieldSize: 1024, parts: 12 },
  });

  registerHealthRoutes(app, deps);
  registerWebRoutes(app, deps.webRoot);
  await app.register(
    async (v1) => {
      v1.decorateRequest('userId', '');
      v1.addHook('onRequest', async (request, reply) => {
        request.userId = (await deps.authenticate(request.headers.authorization)).userId;
        // As early as the user is known: before any body is read or any query runs.
        const settings = await deps.quotas.rateFor(request.userId);
        if (settings.perSecond === 0) return;
        const decision = deps.rateLimiter.take(request.userId, settings);
        setRateLimitHeaders(reply, settings, decision);
        if (!decision.allowed) {
          // A refused request's body is not wanted: a small one is read first so that the
          // client sees the answer (refused-body.ts), then the connection is closed.
          if (hasBody(request)) {
            await drainSmallBody(request.raw, declaredLength(request.headers['content-length']));
            reply.header('connection', 'close');
          }
          throw rateLimited(settings, decision);
        }
      });
      registerUploadRoutes(v1, deps);
      registerMappingRoutes(v1, deps);
      registerColumnsRoute(v1, deps);
      registerPlaybookRoutes(v1, deps);
      const rows = createRowsReader(deps);
      registerPredictionRoutes(v1, deps, rows);
      registerHistoryRoutes(v1, deps, rows);
      registerModelRoutes(v1, deps);
      registerWebhookRoutes(v1, deps);
      registerUsageRoutes(v1, deps);
    },
    { prefix: '/v1' },
  );
  return app;
}

function hasBody(request: FastifyRequest): boolean {
  const length = Number(request.headers['content-length'] ?? 0);
  return length > 0 || request.headers['transfer-encoding'] !== undefined;
}

function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof ApiError) {
    for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
    reply.code(error.status).send(errorBody(error.code, error.message, error.detail));
    return;
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation
      .slice(0, 5)
      .map(
        (issue) =>
          `${issue.instancePath.replace(/^\//, '').replaceAll('/', '.') || error.validationContext}: ${issue.message}`,
      )
      .join('; ');
    reply
      .code(400)
      .send(errorBody('invalid_request', `The ${error.validationContext} is invalid: ${issues}.`));
    return;
  }
  if (error instanceof BlobError && error.retryable) {
    // Storage down for a moment is not the client's fault, nor a bug: say when to come back.
    request.log.warn({ err: error }, 'file storage unavailable');
    reply
      .code(503)
      .header('retry-after', '5')
      .send(
        errorBody(
          'storage_unavailable',
          'File storage is unreachable for a moment. Try again shortly.',
        ),
      );
    return;
  }
  const multipart = multipartClientError(error);
  if (multipart) {
    // The rest of a body that could not be parsed is never read: close after the answer.
    reply.header('connection', 'close');
    reply.code(multipart.status).send(errorBody(multipart.code, multipart.message));
    return;
  }
  if (error instanceof InvalidCursorError) {
    reply.code(400).send(errorBody('invalid_cursor', error.message));
    return;
  }
  const status = (error as { statusCode?: number }).statusCode;
  if (status === 413) {
    reply
      .code(413)
      .send(errorBody('payload_too_large', 'The request body is larger than this server accepts.'));
    return;
  }
  if (status !== undefined && status >= 400 && status < 500) {
    // Fastify's own client errors (malformed JSON, not multipart, ...): their message is safe.
    const message = error instanceof Error ? error.message : 'Bad request.';
    reply.code(status).send(errorBody('bad_request', message));
    return;
  }
  request.log.error({ err: error }, 'request failed');
  reply
    .code(500)
    .send(errorBody('internal', 'Something went wrong on our side; it was logged. Try again.'));
}
