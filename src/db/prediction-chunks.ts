/**
 * The chunks of predictions scored in chunks (src/jobs/chunks.ts): each chunk job records its
 * progress and, once scored, its counts; the one that scores the last chunk queues the assembly.
 */
import type { Kysely } from 'kysely';
import { addToOutbox } from './outbox.js';
import { type Database, nowIso, type PredictionChunk } from './schema.js';

type Conn = Kysely<Database>;

export interface ChunkRange {
  readonly start: number;
  readonly end: number;
}

export async function insertChunks(
  db: Conn,
  predictionId: string,
  ranges: readonly ChunkRange[],
): Promise<void> {
  const now = nowIso();
  // A few hundred rows at most (a 10 GiB file in 32 MiB chunks); batches keep each statement small.
  for (let from = 0; from < ranges.length; from += 100) {
    await db
      .insertInto('prediction_chunks')
      .values(
        ranges.slice(from, from + 100).map((range, i) => ({
          prediction_id: predictionId,
          chunk: from + i,
          start_byte: range.start,
          end_byte: range.end,
          status: 'queued' as const,
          attempts: 0,
          rows_scored: 0,
          tally: null,
          updated_at: now,
        })),
      )
      .execute();
  }
}

/** Chunk `chunk` of the prediction and where its header ends (chunk 0's start), or undefined. */
export async function getChunk(
  db: Conn,
  predictionId: string,
  chunk: number,
): Promise<{ chunk: PredictionChunk; headerEnd: number } | undefined> {
  const rows = await db
    .selectFrom('prediction_chunks')
    .selectAll()
    .where('prediction_id', '=', predictionId)
    .where('chunk', 'in', [0, chunk])
    .execute();
  const own = rows.find((row) => row.chunk === chunk);
  const first = rows.find((row) => row.chunk === 0);
  return own && first ? { chunk: own, headerEnd: Number(first.start_byte) } : undefined;
}

export async function listChunks(db: Conn, predictionId: string): Promise<PredictionChunk[]> {
  return db
    .selectFrom('prediction_chunks')
    .selectAll()
    .where('prediction_id', '=', predictionId)
    .orderBy('chunk')
    .execute();
}

/**
 * Claims the prediction for a chunk's attempt: the chunk's attempts count up, and queued becomes
 * running, its attempts the most any of its chunks has had. False when the prediction has ended
 * (or is deleted): the chunk is not scored.
 */
export async function startChunkAttempt(
  db: Conn,
  predictionId: string,
  chunk: number,
): Promise<boolean> {
  const now = nowIso();
  await db
    .updateTable('prediction_chunks')
    .set((eb) => ({ attempts: eb('attempts', '+', 1), updated_at: now }))
    .where('prediction_id', '=', predictionId)
    .where('chunk', '=', chunk)
    .execute();
  const result = await db
    .updateTable('predictions')
    .set((eb) => ({
      status: 'running',
      attempts: eb
        .selectFrom('prediction_chunks')
        .select((inner) => inner.fn.max('attempts').as('attempts'))
        .where('prediction_id', '=', predictionId),
      started_at: eb.fn.coalesce('started_at', eb.val(now)),
      updated_at: now,
    }))
    .where('id', '=', predictionId)
    .where('status', 'in', ['queued', 'running'])
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Counts an assembly's delivery among the prediction's attempts (the most any of its steps took),
 * so that a prediction whose assembly failed three times says 3. False when the prediction is no
 * longer running.
 */
export async function startAssemblyAttempt(
  db: Conn,
  predictionId: string,
  attempt: number,
): Promise<boolean> {
  const result = await db
    .updateTable('predictions')
    .set((eb) => ({
      attempts: eb
        .case()
        .when('attempts', '<', attempt)
        .then(attempt)
        .else(eb.ref('attempts'))
        .end(),
      updated_at: nowIso(),
    }))
    .where('id', '=', predictionId)
    .where('status', '=', 'running')
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Records a chunk's rows scored so far, and the prediction's as the sum over its chunks. A retried
 * chunk counts from zero again; its rows already scored once stay counted until it passes them, so
 * that the progress a user watches never steps back. False when the prediction is no longer
 * running (cancelled, failed, deleted): the chunk should stop.
 */
export async function recordChunkProgress(
  db: Conn,
  predictionId: string,
  chunk: number,
  rows: number,
): Promise<boolean> {
  const now = nowIso();
  await db
    .updateTable('prediction_chunks')
    .set((eb) => ({
      rows_scored: eb
        .case()
        .when('rows_scored', '>', rows)
        .then(eb.ref('rows_scored'))
        .else(rows)
        .end(),
      updated_at: now,
    }))
    .where('prediction_id', '=', predictionId)
    .where('chunk', '=', chunk)
    .where('status', '=', 'queued')
    .execute();
  const result = await db
    .updateTable('predictions')
    .set((eb) => ({
      rows_scored: eb
        .selectFrom('prediction_chunks')
        .select((inner) => inner.fn.sum<number>('rows_scored').as('rows'))
        .where('prediction_id', '=', predictionId),
      updated_at: now,
    }))
    .where('id', '=', predictionId)
    .where('status', '=', 'running')
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * What finishing a chunk found: `last` (it was the last chunk scored: the assembly is queued),
 * `scored` (others remain), `duplicate` (another delivery scored it first) or `ended` (the
 * prediction is no longer running: what the chunk stored must go).
 */
export type ChunkFinish = 'last' | 'scored' | 'duplicate' | 'ended';

/**
 * Marks the chunk scored with its counts and, when it was the last, adds the assembly job to the
 * outbox, in one transaction. The prediction's row is locked first (an update), so two chunks
 * finishing at once are counted one after the other and exactly one of them sees all done.
 */
export async function finishChunk(
  db: Conn,
  predictionId: string,
  chunk: { chunk: number; rows: number; tally: string },
  assembly: { ownerId: string; body: string },
): Promise<ChunkFinish> {
  return db.transaction().execute(async (trx) => {
    const now = nowIso();
    const running = await trx
      .updateTable('predictions')
      .set({ updated_at: now })
      .where('id', '=', predictionId)
      .where('status', '=', 'running')
      .where('deleted_at', 'is', null)
      .returning('chunks')
      .executeTakeFirst();
    if (!running) return 'ended';
    const marked = await trx
      .updateTable('prediction_chunks')
      .set({ status: 'scored', rows_scored: chunk.rows, tally: chunk.tally, updated_at: now })
      .where('prediction_id', '=', predictionId)
      .where('chunk', '=', chunk.chunk)
      .where('status', '=', 'queued')
      .executeTakeFirst();
    if (Number(marked.numUpdatedRows) !== 1) return 'duplicate';
    const scored = await trx
      .selectFrom('prediction_chunks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('prediction_id', '=', predictionId)
      .where('status', '=', 'scored')
      .executeTakeFirstOrThrow();
    if (Number(scored.n) < Number(running.chunks)) return 'scored';
    await addToOutbox(trx, { jobId: predictionId, ...assembly });
    return 'last';
  });
}
