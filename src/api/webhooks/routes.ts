/**
 * `/v1/webhooks`: endpoints that receive the user's events, signed as Standard Webhooks has it,
 * and each endpoint's delivery log. The API only records: every event is sent by a worker, through
 * the queue (src/jobs/webhook-handler.ts), so no request ever waits on someone else's server.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { decodeCursor, pageOf } from '../../db/pagination.js';
import { nowIso, type WebhookDelivery, type WebhookEndpoint } from '../../db/schema.js';
import {
  endpointEvents,
  findEndpoint,
  insertEndpoint,
  listDeliveries,
  listEndpoints,
  rotateEndpointSecret,
  softDeleteEndpoint,
  updateEndpoint,
} from '../../db/webhooks.js';
import { newId } from '../../ids.js';
import { queueWebhookEvent } from '../../webhooks/deliveries.js';
import { TEST_EVENT, type WebhookEvent, type WebhookEventType } from '../../webhooks/events.js';
import { newWebhookSecret } from '../../webhooks/signature.js';
import {
  checkNewWebhookTarget,
  STRICT_TARGETS,
  WebhookTargetError,
} from '../../webhooks/target.js';
import { ApiError, notFound } from '../errors.js';
import type { ApiDeps } from '../server.js';
import {
  createdWebhookSchema,
  createWebhookBody,
  deliverySchema,
  listDeliveriesQuery,
  rotatedSecretSchema,
  updateWebhookBody,
  webhookIdParams,
  webhookSchema,
} from './schema.js';

/** Enough for every team channel and system a user connects; a runaway script stops here. */
export const MAX_ENDPOINTS_PER_USER = 20;
/** How long a rotated-out secret keeps signing, so receivers can switch without losing events. */
export const PREVIOUS_SECRET_VALIDITY_MS = 24 * 3600_000;

export function presentWebhook(endpoint: WebhookEndpoint) {
  const until = endpoint.previous_secret_expires_at;
  const self = `/v1/webhooks/${endpoint.id}`;
  return {
    id: endpoint.id,
    url: endpoint.url,
    events: endpointEvents(endpoint) as WebhookEventType[],
    format: endpoint.format,
    enabled: endpoint.disabled_at === null,
    createdAt: endpoint.created_at,
    updatedAt: endpoint.updated_at,
    previousSecretExpiresAt: until && Date.parse(until) > Date.now() ? until : null,
    links: { self, deliveries: `${self}/deliveries` },
  };
}

export function presentDelivery(delivery: WebhookDelivery) {
  return {
    id: delivery.id,
    eventType: delivery.event_type,
    status: delivery.status,
    attempts: delivery.attempts,
    responseStatus: delivery.response_status,
    error: delivery.last_error,
    nextAttemptAt: delivery.status === 'pending' ? delivery.next_attempt_at : null,
    lastAttemptAt: delivery.last_attempt_at,
    deliveredAt: delivery.delivered_at,
    createdAt: delivery.created_at,
    event: JSON.parse(delivery.payload) as WebhookEvent,
  };
}

export function registerWebhookRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const policy = deps.webhookTargets ?? STRICT_TARGETS;

  /** The URL as it will be stored, or a 400 that says what is wrong with it. */
  async function checkedUrl(raw: string): Promise<string> {
    try {
      return (await checkNewWebhookTarget(raw, policy)).toString();
    } catch (error) {
      if (error instanceof WebhookTargetError) throw new ApiError(400, error.code, error.message);
      throw error;
    }
  }

  async function ownEndpoint(userId: string, id: string): Promise<WebhookEndpoint> {
    const endpoint = await findEndpoint(deps.db, userId, id);
    if (!endpoint) throw notFound('webhook');
    return endpoint;
  }

  api.post(
    '/webhooks',
    {
      schema: {
        summary: 'Register a webhook endpoint; the answer holds its signing secret, shown once',
        tags: ['webhooks'],
        body: createWebhookBody,
        response: { 201: createdWebhookSchema },
      },
    },
    async (request, reply) => {
      const url = await checkedUrl(request.body.url);
      const existing = await listEndpoints(deps.db, request.userId);
      if (existing.length >= MAX_ENDPOINTS_PER_USER) {
        throw new ApiError(
          409,
          'webhook_limit',
          `You have ${existing.length} webhook endpoints, the most allowed. Delete one you no longer use, or add events to an existing one.`,
        );
      }
      const now = nowIso();
      const endpoint: WebhookEndpoint = {
        id: newId(),
        user_id: request.userId,
        url,
        events: JSON.stringify(request.body.events),
        format: request.body.format,
        secret: newWebhookSecret(),
        previous_secret: null,
        previous_secret_expires_at: null,
        disabled_at: null,
        created_at: now,
        updated_at: now,
        deleted_at: null,
      };
      await insertEndpoint(deps.db, endpoint);
      reply.code(201);
      return { ...presentWebhook(endpoint), secret: endpoint.secret };
    },
  );

  api.get(
    '/webhooks',
    {
      schema: {
        summary: 'List your webhook endpoints (never their secrets)',
        tags: ['webhooks'],
        response: { 200: z.object({ webhooks: z.array(webhookSchema) }) },
      },
    },
    async (request) => ({
      webhooks: (await listEndpoints(deps.db, request.userId)).map(presentWebhook),
    }),
  );

  api.get(
    '/webhooks/:id',
    {
      schema: {
        summary: 'A webhook endpoint',
        tags: ['webhooks'],
        params: webhookIdParams,
        response: { 200: webhookSchema },
      },
    },
    async (request) => presentWebhook(await ownEndpoint(request.userId, request.params.id)),
  );

  api.patch(
    '/webhooks/:id',
    {
      schema: {
        summary: 'Change its URL, events or format, or switch it off and on',
        tags: ['webhooks'],
        params: webhookIdParams,
        body: updateWebhookBody,
        response: { 200: webhookSchema },
      },
    },
    async (request) => {
      await ownEndpoint(request.userId, request.params.id);
      const { url, ...rest } = request.body;
      const updated = await updateEndpoint(deps.db, request.userId, request.params.id, {
        ...rest,
        ...(url === undefined ? {} : { url: await checkedUrl(url) }),
      });
      if (!updated) throw notFound('webhook');
      return presentWebhook(updated);
    },
  );

  api.delete(
    '/webhooks/:id',
    {
      schema: {
        summary: 'Delete a webhook endpoint; deliveries still pending are not attempted',
        tags: ['webhooks'],
        params: webhookIdParams,
      },
    },
    async (request, reply) => {
      if (!(await softDeleteEndpoint(deps.db, request.userId, request.params.id))) {
        throw notFound('webhook');
      }
      reply.code(204).send();
    },
  );

  api.post(
    '/webhooks/:id/rotate-secret',
    {
      schema: {
        summary: 'A new signing secret, shown once; the old one keeps signing beside it for 24 h',
        tags: ['webhooks'],
        params: webhookIdParams,
        response: { 200: rotatedSecretSchema },
      },
    },
    async (request) => {
      const endpoint = await ownEndpoint(request.userId, request.params.id);
      const secret = newWebhookSecret();
      const keepUntil = new Date(Date.now() + PREVIOUS_SECRET_VALIDITY_MS).toISOString();
      if (!(await rotateEndpointSecret(deps.db, endpoint, secret, keepUntil))) {
        throw new ApiError(
          409,
          'rotation_conflict',
          'The secret was rotated by another request at the same moment. Rotate again to get a secret you hold.',
        );
      }
      return { secret, previousSecretExpiresAt: keepUntil };
    },
  );

  api.post(
    '/webhooks/:id/test',
    {
      schema: {
        summary: 'Send a webhook.test event now, to check the endpoint and your signature check',
        tags: ['webhooks'],
        params: webhookIdParams,
        response: {
          202: z.object({ deliveryId: z.string(), links: z.object({ delivery: z.string() }) }),
        },
      },
    },
    async (request, reply) => {
      const endpoint = await ownEndpoint(request.userId, request.params.id);
      if (endpoint.disabled_at !== null) {
        throw new ApiError(
          409,
          'webhook_disabled',
          'The endpoint is disabled: enable it (PATCH with "enabled": true) to send it a test.',
        );
      }
      const event: WebhookEvent = {
        type: TEST_EVENT,
        timestamp: nowIso(),
        data: { webhookId: endpoint.id, message: 'This endpoint receives Churnline events.' },
      };
      const [deliveryId = ''] = await queueWebhookEvent(
        deps.db,
        deps.signingKeys,
        [endpoint],
        event,
        `${TEST_EVENT}:${newId()}`,
      );
      deps.relay.trigger();
      reply.code(202);
      return {
        deliveryId,
        links: { delivery: `/v1/webhooks/${endpoint.id}/deliveries` },
      };
    },
  );

  api.get(
    '/webhooks/:id/deliveries',
    {
      schema: {
        summary: "The endpoint's delivery log, newest first, a page at a time",
        tags: ['webhooks'],
        params: webhookIdParams,
        querystring: listDeliveriesQuery,
        response: {
          200: z.object({ deliveries: z.array(deliverySchema), nextCursor: z.string().nullable() }),
        },
      },
    },
    async (request) => {
      const endpoint = await ownEndpoint(request.userId, request.params.id);
      const { status, limit, cursor } = request.query;
      const rows = await listDeliveries(deps.db, endpoint.id, {
        limit: limit + 1,
        ...(status ? { status } : {}),
        ...(cursor ? { after: decodeCursor(cursor) } : {}),
      });
      const { page, nextCursor } = pageOf(rows, limit);
      return { deliveries: page.map(presentDelivery), nextCursor };
    },
  );
}
