import type { ExpressionBuilder, Kysely } from 'kysely';
import { type Database, nowIso, type OutboxRow } from './schema.js';

type Conn = Kysely<Database>;

export interface OutboxJob {
  /** The prediction, model or webhook delivery the job is for. */
  readonly jobId: string;
  /** Its owner's user id: the relay sends the job in this group, so users share the workers. */
  readonly ownerId: string;
  /** The signed message, exactly as it will be sent. */
  readonly body: string;
  /** Not sent before this instant (a webhook delivery's next attempt); absent: at once. */
  readonly notBefore?: string;
}

/** A signed job, sent by the relay once committed (and not before `notBefore` when given). */
export async function addToOutbox(db: Conn, job: OutboxJob): Promise<void> {
  await db
    .insertInto('outbox')
    .values({
      job_id: job.jobId,
      body: job.body,
      created_at: nowIso(),
      attempts: 0,
      sent_at: null,
      last_error: null,
      group_id: job.ownerId,
      ...(job.notBefore ? { not_before: job.notBefore } : {}),
    })
    .execute();
}

/** Rows scheduled for later are neither sent nor counted as a backlog until they are due. */
function isDue() {
  const now = nowIso();
  return (eb: ExpressionBuilder<Database, 'outbox'>) =>
    eb.or([eb('not_before', 'is', null), eb('not_before', '<=', now)]);
}

export async function pendingOutbox(db: Conn, limit: number): Promise<OutboxRow[]> {
  return db
    .selectFrom('outbox')
    .selectAll()
    .where('sent_at', 'is', null)
    .where(isDue())
    .orderBy('id')
    .limit(limit)
    .execute();
}

export async function markOutboxSent(db: Conn, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('outbox').set({ sent_at: nowIso() }).where('id', 'in', ids).execute();
}

export async function markOutboxFailed(
  db: Conn,
  ids: readonly number[],
  error: string,
): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('outbox')
    .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: error.slice(0, 1000) }))
    .where('id', 'in', ids)
    .execute();
}

export async function outboxBacklog(
  db: Conn,
): Promise<{ pending: number; oldestCreatedAt: string | null }> {
  const row = await db
    .selectFrom('outbox')
    .select((eb) => [
      eb.fn.countAll<number>().as('pending'),
      eb.fn
        // A scheduled row is waiting from when it came due, not from when it was written.
        .min(eb.fn.coalesce('not_before', 'created_at'))
        .as('oldest'),
    ])
    .where('sent_at', 'is', null)
    .where(isDue())
    .executeTakeFirstOrThrow();
  return { pending: Number(row.pending), oldestCreatedAt: (row.oldest as string | null) ?? null };
}

/** Sent rows are kept a while for audit, then removed. */
export async function pruneSentOutbox(db: Conn, olderThan: string): Promise<number> {
  const result = await db.deleteFrom('outbox').where('sent_at', '<', olderThan).executeTakeFirst();
  return Number(result.numDeletedRows);
}
