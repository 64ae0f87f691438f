/**
 * Webhook endpoints and their deliveries (see src/webhooks). Every function takes `db | trx`, so
 * a delivery and the outbox row that sends it are written in one transaction.
 */
import type { Kysely } from 'kysely';
import type { CursorPosition } from './pagination.js';
import {
  type Database,
  type DeliveryStatus,
  nowIso,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookFormat,
} from './schema.js';

type Conn = Kysely<Database>;

export async function insertEndpoint(db: Conn, endpoint: WebhookEndpoint): Promise<void> {
  await db.insertInto('webhook_endpoints').values(endpoint).execute();
}

/** The user's endpoint, or undefined when it does not exist, is deleted or is someone else's. */
export async function findEndpoint(
  db: Conn,
  userId: string,
  id: string,
): Promise<WebhookEndpoint | undefined> {
  return db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

/** Every endpoint of the user, oldest first (there are few: see MAX_ENDPOINTS_PER_USER). */
export async function listEndpoints(db: Conn, userId: string): Promise<WebhookEndpoint[]> {
  return db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('user_id', '=', userId)
    .where('deleted_at', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export interface EndpointChanges {
  url?: string;
  events?: readonly string[];
  format?: WebhookFormat;
  enabled?: boolean;
}

/** Applies the changes given; returns the endpoint as it now is, or undefined when not found. */
export async function updateEndpoint(
  db: Conn,
  userId: string,
  id: string,
  changes: EndpointChanges,
): Promise<WebhookEndpoint | undefined> {
  const now = nowIso();
  await db
    .updateTable('webhook_endpoints')
    .set((eb) => ({
      updated_at: now,
      ...(changes.url === undefined ? {} : { url: changes.url }),
      ...(changes.events === undefined ? {} : { events: JSON.stringify(changes.events) }),
      ...(changes.format === undefined ? {} : { format: changes.format }),
      // Disabling keeps the first time it was switched off; enabling clears it.
      ...(changes.enabled === undefined
        ? {}
        : { disabled_at: changes.enabled ? null : eb.fn.coalesce('disabled_at', eb.val(now)) }),
    }))
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('deleted_at', 'is', null)
    .execute();
  return findEndpoint(db, userId, id);
}

/** The new secret signs from now; the current one keeps signing beside it until `keepUntil`. */
export async function rotateEndpointSecret(
  db: Conn,
  endpoint: WebhookEndpoint,
  secret: string,
  keepUntil: string,
): Promise<boolean> {
  const result = await db
    .updateTable('webhook_endpoints')
    .set({
      secret,
      previous_secret: endpoint.secret,
      previous_secret_expires_at: keepUntil,
      updated_at: nowIso(),
    })
    .where('id', '=', endpoint.id)
    .where('secret', '=', endpoint.secret) // two rotations at once: one wins, none is lost
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function softDeleteEndpoint(db: Conn, userId: string, id: string): Promise<boolean> {
  const now = nowIso();
  const result = await db
    .updateTable('webhook_endpoints')
    .set({ deleted_at: now, updated_at: now })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Enabled endpoints of the user that already existed at `at` (an event then is not theirs). */
export async function activeEndpoints(
  db: Conn,
  userId: string,
  at: string,
): Promise<WebhookEndpoint[]> {
  return db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('user_id', '=', userId)
    .where('deleted_at', 'is', null)
    .where('disabled_at', 'is', null)
    .where('created_at', '<=', at)
    .execute();
}

export function endpointEvents(endpoint: WebhookEndpoint): string[] {
  return JSON.parse(endpoint.events) as string[];
}

/** Inserts the delivery unless its endpoint already has one for the event; true when inserted. */
export async function insertDelivery(db: Conn, delivery: WebhookDelivery): Promise<boolean> {
  const inserted = await db
    .insertInto('webhook_deliveries')
    .values(delivery)
    .onConflict((oc) => oc.columns(['endpoint_id', 'event_key']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}

/** For the worker: the delivery and its endpoint whatever their state, so it can judge the job. */
export async function getDeliveryForJob(
  db: Conn,
  id: string,
): Promise<{ delivery: WebhookDelivery; endpoint: WebhookEndpoint } | undefined> {
  const delivery = await db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  if (!delivery) return undefined;
  const endpoint = await db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('id', '=', delivery.endpoint_id)
    .executeTakeFirstOrThrow();
  return { delivery, endpoint };
}

/** An endpoint's delivery log, newest first. */
export async function listDeliveries(
  db: Conn,
  endpointId: string,
  options: { status?: DeliveryStatus; after?: CursorPosition; limit: number },
): Promise<WebhookDelivery[]> {
  let query = db.selectFrom('webhook_deliveries').selectAll().where('endpoint_id', '=', endpointId);
  if (options.status) query = query.where('status', '=', options.status);
  const after = options.after;
  if (after) {
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '<', after.createdAt),
        eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)]),
      ]),
    );
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
}

export interface AttemptRecord {
  /** The attempt's number (1-based); recorded only if it is the delivery's next one. */
  attempt: number;
  status: DeliveryStatus;
  responseStatus: number | null;
  error: string | null;
  /** When the next attempt is due (status pending); null otherwise. */
  nextAttemptAt: string | null;
}

/**
 * Records attempt `attempt` unless it was recorded already (a duplicate job message raced this
 * one): true when this call recorded it, and so owns scheduling what comes next.
 */
export async function recordDeliveryAttempt(
  db: Conn,
  id: string,
  record: AttemptRecord,
): Promise<boolean> {
  const now = nowIso();
  const result = await db
    .updateTable('webhook_deliveries')
    .set({
      status: record.status,
      attempts: record.attempt,
      next_attempt_at: record.nextAttemptAt,
      last_attempt_at: now,
      response_status: record.responseStatus,
      last_error: record.error === null ? null : record.error.slice(0, 1000),
      updated_at: now,
      ...(record.status === 'delivered' ? { delivered_at: now } : {}),
    })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where('attempts', '=', record.attempt - 1)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Ends a pending delivery without an attempt (its endpoint was deleted or switched off), unless
 * attempt `attempts + 1` was recorded meanwhile; true when this call ended it.
 */
export async function abandonDelivery(
  db: Conn,
  id: string,
  attempts: number,
  reason: string,
): Promise<boolean> {
  const now = nowIso();
  const result = await db
    .updateTable('webhook_deliveries')
    .set({ status: 'failed', next_attempt_at: null, last_error: reason, updated_at: now })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where('attempts', '=', attempts)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
