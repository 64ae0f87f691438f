/**
 * How an event becomes deliveries, and a failed attempt the next one. A delivery row and the
 * outbox row carrying its signed job are written in one transaction; the API's relay sends the
 * job and a worker makes the attempt (src/jobs/webhook-handler.ts). A failed attempt schedules
 * the next as a new outbox row due later (the relay holds it until then), so retries span hours
 * without depending on the queue's own few redeliveries, and every attempt keeps the delivery's
 * id as its `webhook-id`.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { addToOutbox } from '../db/outbox.js';
import { type Database, nowIso, type WebhookDelivery, type WebhookEndpoint } from '../db/schema.js';
import { insertDelivery, recordDeliveryAttempt } from '../db/webhooks.js';
import { encodeJobMessage, type SigningKeyring } from '../jobs/message.js';
import type { WebhookEvent } from './events.js';
import { MAX_ATTEMPTS, nextAttemptAt } from './schedule.js';
import type { AttemptResult } from './send.js';

type Conn = Kysely<Database>;

export function newDeliveryId(): string {
  return `msg_${randomBytes(16).toString('hex')}`;
}

function inTransaction<T>(db: Conn, work: (trx: Conn) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

/** The outbox row for attempt `attempt`, published (and sent) when it is due. */
async function scheduleAttempt(
  db: Conn,
  keys: SigningKeyring,
  delivery: { id: string; userId: string },
  attempt: number,
  dueAt: string,
): Promise<void> {
  const body = encodeJobMessage(
    {
      kind: 'deliver-webhook',
      deliveryId: delivery.id,
      userId: delivery.userId,
      attempt,
      publishedAt: dueAt,
    },
    keys,
  );
  await addToOutbox(db, {
    jobId: delivery.id,
    ownerId: delivery.userId,
    body,
    ...(attempt === 1 ? {} : { notBefore: dueAt }),
  });
}

/**
 * Queues `event` to each endpoint once: `eventKey` names the event (`prediction.completed:<id>`),
 * so announcing it again (a redelivered job) adds nothing. Returns the new deliveries' ids.
 */
export async function queueWebhookEvent(
  db: Conn,
  keys: SigningKeyring,
  endpoints: readonly WebhookEndpoint[],
  event: WebhookEvent,
  eventKey: string,
): Promise<string[]> {
  if (endpoints.length === 0) return [];
  return inTransaction(db, async (trx) => {
    const created: string[] = [];
    for (const endpoint of endpoints) {
      const now = nowIso();
      const delivery: WebhookDelivery = {
        id: newDeliveryId(),
        endpoint_id: endpoint.id,
        user_id: endpoint.user_id,
        event_type: event.type,
        event_key: eventKey,
        payload: JSON.stringify(event),
        status: 'pending',
        attempts: 0,
        next_attempt_at: now,
        last_attempt_at: null,
        response_status: null,
        last_error: null,
        created_at: now,
        updated_at: now,
        delivered_at: null,
      };
      if (!(await insertDelivery(trx, delivery))) continue;
      await scheduleAttempt(trx, keys, { id: delivery.id, userId: delivery.user_id }, 1, now);
      created.push(delivery.id);
    }
    return created;
  });
}

export type AttemptOutcome = 'delivered' | 'retrying' | 'failed' | 'duplicate';

/**
 * Records attempt `attempt` and, when it failed and attempts remain, schedules the next, in one
 * transaction. `duplicate`: another message for the same attempt recorded it first.
 */
export async function recordAttempt(
  db: Conn,
  keys: SigningKeyring,
  delivery: WebhookDelivery,
  attempt: number,
  result: AttemptResult,
  now = Date.now(),
): Promise<AttemptOutcome> {
  const next = result.ok || attempt >= MAX_ATTEMPTS ? null : nextAttemptAt(attempt, now);
  const status = result.ok ? 'delivered' : next ? 'pending' : 'failed';
  return inTransaction(db, async (trx) => {
    const recorded = await recordDeliveryAttempt(trx, delivery.id, {
      attempt,
      status,
      responseStatus: result.status,
      error: result.error,
      nextAttemptAt: next,
    });
    if (!recorded) return 'duplicate';
    if (next) {
      await scheduleAttempt(
        trx,
        keys,
        { id: delivery.id, userId: delivery.user_id },
        attempt + 1,
        next,
      );
      return 'retrying';
    }
    return status === 'delivered' ? 'delivered' : 'failed';
  });
}
