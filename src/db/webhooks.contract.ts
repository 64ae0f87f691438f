/**
 * The webhook repositories' contract, run on every engine (sqlite.test.ts, postgres.test.ts):
 * endpoints per user, one delivery per event and endpoint, attempts recorded once, retries
 * scheduled in the outbox and held there until due.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeJobMessage } from '../jobs/message.js';
import { parseSigningKeys } from '../jobs/signing-keys.js';
import { queueWebhookEvent, recordAttempt } from '../webhooks/deliveries.js';
import type { WebhookEvent } from '../webhooks/events.js';
import { MAX_ATTEMPTS } from '../webhooks/schedule.js';
import type { Db } from './connect.js';
import { outboxBacklog, pendingOutbox } from './outbox.js';
import { decodeCursor, encodeCursor } from './pagination.js';
import type { DatabaseFactory, DatabaseUnderTest } from './repositories.contract.js';
import { nowIso, type WebhookEndpoint } from './schema.js';
import {
  abandonDelivery,
  activeEndpoints,
  findEndpoint,
  getDeliveryForJob,
  insertEndpoint,
  listDeliveries,
  listEndpoints,
  rotateEndpointSecret,
  softDeleteEndpoint,
  updateEndpoint,
} from './webhooks.js';

const keys = parseSigningKeys(`k1:${randomBytes(32).toString('base64')}`);

function endpoint(userId: string, createdAt = nowIso()): WebhookEndpoint {
  return {
    id: randomUUID(),
    user_id: userId,
    url: 'https://hooks.example.com/churn',
    events: JSON.stringify(['prediction.completed']),
    format: 'standard',
    secret: 'whsec_one',
    previous_secret: null,
    previous_secret_expires_at: null,
    disabled_at: null,
    created_at: createdAt,
    updated_at: createdAt,
    deleted_at: null,
  };
}

const event = (n = 1): WebhookEvent => ({
  type: 'prediction.completed',
  timestamp: nowIso(),
  data: { n },
});

export function describeWebhookRepositoryContract(engine: string, open: DatabaseFactory): void {
  describe(`webhook repositories: ${engine}`, () => {
    let db: Db;
    let under: DatabaseUnderTest;
    beforeEach(async () => {
      under = await open();
      db = under.db;
    });
    afterEach(async () => {
      await under.cleanup();
    });

    it("keeps endpoints per user: another user's id finds nothing", async () => {
      const mine = endpoint('alice');
      await insertEndpoint(db, mine);
      expect(await findEndpoint(db, 'bob', mine.id)).toBeUndefined();
      expect(await updateEndpoint(db, 'bob', mine.id, { enabled: false })).toBeUndefined();
      expect(await softDeleteEndpoint(db, 'bob', mine.id)).toBe(false);
      const disabled = await updateEndpoint(db, 'alice', mine.id, {
        enabled: false,
        events: ['prediction.failed'],
        format: 'slack',
      });
      expect(disabled).toMatchObject({ format: 'slack', events: '["prediction.failed"]' });
      expect(disabled?.disabled_at).not.toBeNull();
      expect(await activeEndpoints(db, 'alice', nowIso())).toEqual([]);
      await updateEndpoint(db, 'alice', mine.id, { enabled: true });
      expect((await activeEndpoints(db, 'alice', nowIso())).map((e) => e.id)).toEqual([mine.id]);
      expect(await softDeleteEndpoint(db, 'alice', mine.id)).toBe(true);
      expect(await listEndpoints(db, 'alice')).toEqual([]);
      expect(await activeEndpoints(db, 'alice', nowIso())).toEqual([]);
    });

    it('rotates a secret once when two rotations race', async () => {
      const mine = endpoint('alice');
      await insertEndpoint(db, mine);
      const until = new Date(Date.now() + 3600_000).toISOString();
      expect(await rotateEndpointSecret(db, mine, 'whsec_two', until)).toBe(true);
      expect(await rotateEndpointSecret(db, mine, 'whsec_three', until)).toBe(false);
      expect(await findEndpoint(db, 'alice', mine.id)).toMatchObject({
        secret: 'whsec_two',
        previous_secret: 'whsec_one',
        previous_secret_expires_at: until,
      });
    });

    it('queues an event once per endpoint, with its job in the outbox', async () => {
      const first = endpoint('alice');
      const second = endpoint('alice');
      await insertEndpoint(db, first);
      await insertEndpoint(db, second);
      const ids = await queueWebhookEvent(db, keys, [first, second], event(), 'k:1');
      expect(ids).toHaveLength(2);
      expect(ids[0]).toMatch(/^msg_[0-9a-f]{32}$/);
      // Announced again (a redelivered job): nothing new.
      expect(await queueWebhookEvent(db, keys, [first, second], event(), 'k:1')).toEqual([]);
      const outbox = await pendingOutbox(db, 10);
      expect(outbox.map((row) => row.job_id).sort()).toEqual([...ids].sort());
      const job = decodeJobMessage(outbox[0]!.body, keys);
      expect(job).toMatchObject({ kind: 'deliver-webhook', userId: 'alice', attempt: 1 });
      const found = await getDeliveryForJob(db, ids[0]!);
      expect(found?.delivery).toMatchObject({ status: 'pending', attempts: 0, event_key: 'k:1' });
      expect(found?.endpoint.user_id).toBe('alice');
    });

    it('records an attempt once and holds the retry in the outbox until it is due', async () => {
      const mine = endpoint('alice');
      await insertEndpoint(db, mine);
      const [id] = await queueWebhookEvent(db, keys, [mine], event(), 'k:2');
      await db.updateTable('outbox').set({ sent_at: nowIso() }).execute();
      const delivery = (await getDeliveryForJob(db, id!))!.delivery;
      const failed = { ok: false, status: 500, error: 'HTTP 500' };
      expect(await recordAttempt(db, keys, delivery, 1, failed)).toBe('retrying');
      expect(await recordAttempt(db, keys, delivery, 1, failed)).toBe('duplicate');
      const after = (await getDeliveryForJob(db, id!))!.delivery;
      expect(after).toMatchObject({ status: 'pending', attempts: 1, response_status: 500 });
      const due = Date.parse(after.next_attempt_at!);
      expect(due - Date.now()).toBeGreaterThan(3000);
      expect(due - Date.now()).toBeLessThanOrEqual(5000);
      // Scheduled, not pending: neither sent nor counted as a backlog before it is due.
      expect(await pendingOutbox(db, 10)).toEqual([]);
      expect((await outboxBacklog(db)).pending).toBe(0);
      await db
        .updateTable('outbox')
        .set({ not_before: nowIso() })
        .where('sent_at', 'is', null)
        .execute();
      const [retry] = await pendingOutbox(db, 10);
      const job = decodeJobMessage(retry!.body, keys, due);
      expect(job).toMatchObject({ deliveryId: id, attempt: 2, publishedAt: after.next_attempt_at });
      expect(await recordAttempt(db, keys, after, 2, { ok: true, status: 204, error: null })).toBe(
        'delivered',
      );
      expect((await getDeliveryForJob(db, id!))!.delivery).toMatchObject({
        status: 'delivered',
        attempts: 2,
        next_attempt_at: null,
        last_error: null,
      });
    });

    it('fails a delivery after its last attempt, and abandons one whose endpoint went', async () => {
      const mine = endpoint('alice');
      await insertEndpoint(db, mine);
      const [id, other] = [
        ...(await queueWebhookEvent(db, keys, [mine], event(), 'k:3')),
        ...(await queueWebhookEvent(db, keys, [mine], event(), 'k:4')),
      ];
      await db
        .updateTable('webhook_deliveries')
        .set({ attempts: MAX_ATTEMPTS - 1 })
        .where('id', '=', id!)
        .execute();
      const delivery = (await getDeliveryForJob(db, id!))!.delivery;
      const refused = { ok: false, status: null, error: 'could not connect' };
      expect(await recordAttempt(db, keys, delivery, MAX_ATTEMPTS, refused)).toBe('failed');
      expect((await getDeliveryForJob(db, id!))!.delivery).toMatchObject({
        status: 'failed',
        next_attempt_at: null,
      });
      expect(await abandonDelivery(db, other!, 0, 'The endpoint was deleted.')).toBe(true);
      expect(await abandonDelivery(db, other!, 0, 'again')).toBe(false);
    });

    it('pages the delivery log newest first, with a status filter', async () => {
      const mine = endpoint('alice');
      await insertEndpoint(db, mine);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const [id] = await queueWebhookEvent(db, keys, [mine], event(i), `k:${i}`);
        const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
        await db
          .updateTable('webhook_deliveries')
          .set({ created_at: at })
          .where('id', '=', id!)
          .execute();
        ids.push(id!);
      }
      await abandonDelivery(db, ids[1]!, 0, 'gone');
      const first = await listDeliveries(db, mine.id, { limit: 2 });
      expect(first.map((d) => d.id)).toEqual([ids[4], ids[3]]);
      const after = decodeCursor(
        encodeCursor({ createdAt: first[1]!.created_at, id: first[1]!.id }),
      );
      expect((await listDeliveries(db, mine.id, { limit: 10, after })).map((d) => d.id)).toEqual([
        ids[2],
        ids[1],
        ids[0],
      ]);
      expect(
        (await listDeliveries(db, mine.id, { limit: 10, status: 'failed' })).map((d) => d.id),
      ).toEqual([ids[1]]);
    });
  });
}
