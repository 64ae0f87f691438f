import { z } from 'zod';
import { WEBHOOK_EVENTS } from '../../webhooks/events.js';
import { MAX_URL_LENGTH } from '../../webhooks/target.js';

export const webhookIdParams = z.object({
  id: z.uuid({ error: 'must be a webhook id (UUID)' }),
});

const url = z
  .string()
  .max(MAX_URL_LENGTH, { error: `must be at most ${MAX_URL_LENGTH} characters` })
  .describe(
    'Where to POST events: an https:// URL on a public address (http:// and private addresses only where the operator allows them).',
  );

const events = z
  .array(z.enum(WEBHOOK_EVENTS))
  .min(1, { error: 'name at least one event' })
  .max(WEBHOOK_EVENTS.length)
  .refine((list) => new Set(list).size === list.length, { error: 'names an event twice' })
  .describe('The events this endpoint receives.');

const format = z
  .enum(['standard', 'slack'])
  .describe(
    '`standard`: `{ type, timestamp, data }` JSON (Standard Webhooks); `slack`: `{ text, blocks }` for a Slack (or compatible) incoming webhook URL.',
  );

export const createWebhookBody = z
  .object({ url, events, format: format.default('standard') })
  .strict();

export const updateWebhookBody = z
  .object({
    url: url.optional(),
    events: events.optional(),
    format: format.optional(),
    enabled: z.boolean().optional().describe('false: no events are sent until it is true again.'),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, {
    error: 'give at least one of url, events, format, enabled',
  });

export const webhookSchema = z.object({
  id: z.uuid(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENTS)),
  format,
  enabled: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
  previousSecretExpiresAt: z
    .string()
    .nullable()
    .describe('While a rotated-out secret still signs beside the new one: until when.'),
  links: z.object({ self: z.string(), deliveries: z.string() }),
});

const secret = z
  .string()
  .describe(
    'The signing secret (whsec_...). Shown only now: store it where your receiver reads it.',
  );

export const createdWebhookSchema = webhookSchema.extend({ secret });

export const rotatedSecretSchema = z.object({
  secret,
  previousSecretExpiresAt: z
    .string()
    .describe('Until then every event is signed with both secrets (two signatures).'),
});

export const deliveryStatus = z.enum(['pending', 'delivered', 'failed']);

export const deliverySchema = z.object({
  id: z.string().describe('The webhook-id header of every attempt of this delivery.'),
  eventType: z.string(),
  status: deliveryStatus,
  attempts: z.number().int(),
  responseStatus: z.number().int().nullable().describe("The receiver's last HTTP status."),
  error: z.string().nullable().describe('Why the last attempt did not count as delivered.'),
  nextAttemptAt: z.string().nullable(),
  lastAttemptAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  createdAt: z.string(),
  event: z.object({
    type: z.string(),
    timestamp: z.string(),
    data: z.record(z.string(), z.unknown()),
  }),
});

export const listDeliveriesQuery = z.object({
  status: deliveryStatus.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(500).optional(),
});
