/**
 * The repository contract: what the API and the worker rely on from the database layer, written
 * once and run against every engine (sqlite.test.ts, postgres.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HISTORY_BUCKETS, historyBuckets } from '../history/buckets.js';
import { findColumnOverrides, saveColumnOverrides } from './column-mappings.js';
import type { Db } from './connect.js';
import {
  customerScores,
  deleteCustomerHistory,
  previousPrediction,
  writeCustomerHistory,
} from './customer-history.js';
import {
  completeModel,
  failModel,
  findDefaultModel,
  findModel,
  getModelForJob,
  insertModel,
  listModels,
  recordTrainingProgress,
  setDefaultModel,
  softDeleteModel,
  startTrainingAttempt,
} from './models.js';
import {
  addToOutbox,
  markOutboxFailed,
  markOutboxSent,
  outboxBacklog,
  pendingOutbox,
} from './outbox.js';
import { decodeCursor, encodeCursor } from './pagination.js';
import {
  finishChunk,
  getChunk,
  insertChunks,
  listChunks,
  recordChunkProgress,
  startAssemblyAttempt,
  startChunkAttempt,
} from './prediction-chunks.js';
import {
  completePrediction,
  failPrediction,
  findPrediction,
  getPredictionForJob,
  insertPrediction,
  listPredictions,
  softDeletePrediction,
  startAttempt,
} from './predictions.js';
import { nowIso } from './schema.js';
import { findPlaybook, findTableColumns, setPlaybook, setTableColumns } from './settings.js';
import {
  beginUpload,
  claimAbandonedUploads,
  deleteUnfinishedUpload,
  findUpload,
  finishUpload,
  insertUpload,
  listUploads,
  uploadsToRemove,
} from './uploads.js';

export interface DatabaseUnderTest {
  readonly db: Db;
  /** Closes the database and removes it (its file, or its schema). */
  cleanup(): Promise<void>;
}

/** Opens a fresh, migrated, empty database for one test. */
export type DatabaseFactory = () => Promise<DatabaseUnderTest>;

export function describeRepositoryContract(engine: string, open: DatabaseFactory): void {
  describe(`repositories: ${engine}`, () => {
    let db: Db;
    let under: DatabaseUnderTest;
    beforeEach(async () => {
      under = await open();
      db = under.db;
    });
    afterEach(async () => {
      await under.cleanup();
    });

    async function seed(userId: string, createdAt = nowIso(), bytes = 10) {
      const uploadId = randomUUID();
      await insertUpload(db, {
        id: uploadId,
        user_id: userId,
        filename: 'customers.csv',
        object_key: `users/${userId}/uploads/${uploadId}.csv`,
        bytes,
        sha256: 'x'.repeat(64),
        row_count: 1,
        created_at: createdAt,
        deleted_at: null,
      });
      const id = randomUUID();
      await insertPrediction(db, {
        id,
        user_id: userId,
        upload_id: uploadId,
        model_id: 'telco-v1',
        status: 'queued',
        attempts: 0,
        rows_scored: null,
        rows_failed: null,
        summary: null,
        result_key: null,
        error_code: null,
        error_message: null,
        created_at: createdAt,
        started_at: null,
        completed_at: null,
        updated_at: createdAt,
        deleted_at: null,
      });
      return { id, uploadId };
    }

    describe('prediction repository', () => {
      it("hides other users' and deleted predictions", async () => {
        const { id } = await seed('alice');
        expect(await findPrediction(db, 'alice', id)).toBeDefined();
        expect(await findPrediction(db, 'bob', id)).toBeUndefined();
        expect(await softDeletePrediction(db, 'bob', id)).toBeUndefined();
        expect(await softDeletePrediction(db, 'alice', id)).toBeDefined();
        expect(await findPrediction(db, 'alice', id)).toBeUndefined();
      });

      it('moves through its lifecycle once: a duplicate delivery changes nothing after the end', async () => {
        const { id } = await seed('alice');
        expect(await startAttempt(db, id)).toBe(true);
        expect(await startAttempt(db, id)).toBe(true); // a redelivery after a crashed attempt
        const completion = {
          rowsScored: 5,
          rowsFailed: 0,
          summary: { high: 1 },
          resultKey: 'users/alice/results/x.csv',
          rowsIndexKey: 'users/alice/results/x.rows-index',
        };
        expect(await completePrediction(db, id, completion)).toBe(true);
        expect(await completePrediction(db, id, completion)).toBe(false);
        expect(await startAttempt(db, id)).toBe(false);
        expect(await failPrediction(db, id, { code: 'x', message: 'y' })).toBe(false);
        const row = await findPrediction(db, 'alice', id);
        expect(row).toMatchObject({
          status: 'completed',
          attempts: 2,
          rows_scored: 5,
          summary: '{"high":1}',
          rows_index_key: 'users/alice/results/x.rows-index',
        });
        expect(row?.started_at).not.toBeNull();
      });

      it('finishes chunks once each, and exactly one finisher queues the assembly, at any overlap', async () => {
        const { id } = await seed('alice');
        const chunks = 6;
        await db.updateTable('predictions').set({ chunks }).where('id', '=', id).execute();
        await insertChunks(
          db,
          id,
          Array.from({ length: chunks }, (_, i) => ({ start: 10 + i * 100, end: 110 + i * 100 })),
        );
        expect((await getChunk(db, id, 3))?.headerEnd).toBe(10);
        for (let chunk = 0; chunk < chunks; chunk++) {
          expect(await startChunkAttempt(db, id, chunk)).toBe(true);
        }
        expect(await recordChunkProgress(db, id, 1, 40)).toBe(true);
        expect(await recordChunkProgress(db, id, 2, 2)).toBe(true);
        expect((await getPredictionForJob(db, id))?.rows_scored).toBe(42);
        // Chunk 1 retried: it counts from zero again, and the progress holds until it passes 40.
        expect(await startChunkAttempt(db, id, 1)).toBe(true);
        expect(await recordChunkProgress(db, id, 1, 10)).toBe(true);
        expect((await getPredictionForJob(db, id))?.rows_scored).toBe(42);
        expect(await recordChunkProgress(db, id, 1, 55)).toBe(true);
        expect((await getPredictionForJob(db, id))?.rows_scored).toBe(57);
        expect((await getPredictionForJob(db, id))?.attempts).toBe(2);
        // An assembly's third delivery makes it 3; an earlier one never lowers it.
        expect(await startAssemblyAttempt(db, id, 3)).toBe(true);
        expect(await startAssemblyAttempt(db, id, 1)).toBe(true);
        expect((await getPredictionForJob(db, id))?.attempts).toBe(3);
        const finish = (chunk: number) =>
          finishChunk(
            db,
            id,
            { chunk, rows: 100, tally: '{}' },
            { ownerId: 'alice', body: 'assemble' },
          );
        const outcomes = await Promise.all(Array.from({ length: chunks }, (_, i) => finish(i)));
        expect(outcomes.filter((o) => o === 'last')).toHaveLength(1);
        expect(outcomes.filter((o) => o === 'scored')).toHaveLength(chunks - 1);
        expect(await finish(2)).toBe('duplicate');
        expect((await pendingOutbox(db, 10)).map((row) => row.body)).toEqual(['assemble']);
        expect((await listChunks(db, id)).map((c) => [c.chunk, c.status, c.rows_scored])).toEqual(
          Array.from({ length: chunks }, (_, i) => [i, 'scored', 100]),
        );
        // Once the prediction has ended, a chunk finds it so, and starts no attempt either.
        await failPrediction(db, id, { code: 'x', message: 'y' });
        expect(await finish(0)).toBe('ended');
        expect(await startChunkAttempt(db, id, 0)).toBe(false);
        expect(await recordChunkProgress(db, id, 0, 1)).toBe(false);
      });

      it('has no rows index until one is recorded (predictions from before indexes)', async () => {
        const { id } = await seed('alice');
        expect((await findPrediction(db, 'alice', id))?.rows_index_key).toBeNull();
        await completePrediction(db, id, {
          rowsScored: 1,
          rowsFailed: 0,
          summary: {},
          resultKey: 'users/alice/results/x.csv',
        });
        expect((await findPrediction(db, 'alice', id))?.rows_index_key).toBeNull();
      });

      it('pages by cursor, newest first, with a status filter', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++)
          ids.push((await seed('alice', new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString())).id);
        await startAttempt(db, ids[0]!);
        const first = await listPredictions(db, 'alice', { limit: 2 });
        expect(first.map((p) => p.id)).toEqual([ids[4], ids[3]]);
        const cursor = decodeCursor(
          encodeCursor({ createdAt: first[1]!.created_at, id: first[1]!.id }),
        );
        const second = await listPredictions(db, 'alice', { limit: 10, after: cursor });
        expect(second.map((p) => p.id)).toEqual([ids[2], ids[1], ids[0]]);
        expect(
          (await listPredictions(db, 'alice', { limit: 10, status: 'running' })).map((p) => p.id),
        ).toEqual([ids[0]]);
        expect(() => decodeCursor('garbage')).toThrow(/cursor/);
      });
    });

    describe('outbox repository', () => {
      it('keeps rows pending until sent and reports the backlog', async () => {
        const { id } = await seed('alice');
        await addToOutbox(db, { jobId: id, ownerId: 'alice', body: 'body-1' });
        await addToOutbox(db, { jobId: id, ownerId: 'alice', body: 'body-2' });
        const pending = await pendingOutbox(db, 10);
        expect(pending.map((r) => r.body)).toEqual(['body-1', 'body-2']);
        expect(pending.map((r) => r.group_id)).toEqual(['alice', 'alice']);
        await markOutboxFailed(db, [pending[0]!.id], 'queue unreachable');
        expect((await outboxBacklog(db)).pending).toBe(2);
        await markOutboxSent(db, [pending[0]!.id]);
        expect((await pendingOutbox(db, 10)).map((r) => r.body)).toEqual(['body-2']);
        expect(await outboxBacklog(db)).toMatchObject({ pending: 1 });
      });
    });

    describe('upload repository', () => {
      it('round-trips sizes beyond 32 bits as numbers, newest first, owner only', async () => {
        const fiveGiB = 5 * 1024 ** 3;
        const older = await seed('alice', '2026-01-01T00:00:00.000Z', fiveGiB);
        const newer = await seed('alice', '2026-01-02T00:00:00.000Z');
        const found = await findUpload(db, 'alice', older.uploadId);
        expect(found?.bytes).toBe(fiveGiB);
        expect(found?.row_count).toBe(1);
        expect(await findUpload(db, 'bob', older.uploadId)).toBeUndefined();
        expect((await listUploads(db, 'alice', 10)).map((u) => u.id)).toEqual([
          newer.uploadId,
          older.uploadId,
        ]);
      });
    });

    describe('unfinished uploads', () => {
      async function begin(userId: string, createdAt = nowIso()) {
        const id = randomUUID();
        await beginUpload(db, {
          id,
          user_id: userId,
          filename: 'customers.csv',
          object_key: `users/${userId}/uploads/${id}.csv`,
          created_at: createdAt,
        });
        return id;
      }
      const whole = { bytes: 6 * 1024 ** 3, sha256: 'a'.repeat(64), row_count: 7043 };

      it('are invisible until finished, then whole; finishing again changes nothing', async () => {
        const id = await begin('alice');
        expect(await findUpload(db, 'alice', id)).toBeUndefined();
        expect(await listUploads(db, 'alice', 10)).toEqual([]);
        expect(await finishUpload(db, id, whole)).toBe(true);
        expect(await findUpload(db, 'alice', id)).toMatchObject({ ...whole, state: 'stored' });
        expect((await listUploads(db, 'alice', 10)).map((u) => u.id)).toEqual([id]);
        expect(await finishUpload(db, id, { ...whole, bytes: 1 })).toBe(false);
        // A stored upload is never removed as unfinished.
        await deleteUnfinishedUpload(db, id);
        expect(await findUpload(db, 'alice', id)).toMatchObject({ bytes: whole.bytes });
      });

      it('are claimed for removal once older than the cutoff; a claimed one cannot finish', async () => {
        const old = await begin('alice', '2026-01-01T00:00:00.000Z');
        const recent = await begin('alice', '2026-01-01T02:00:00.000Z');
        const stored = (await seed('alice', '2026-01-01T00:00:00.000Z')).uploadId;
        expect(await claimAbandonedUploads(db, '2026-01-01T01:00:00.000Z')).toBe(1);
        expect(await claimAbandonedUploads(db, '2026-01-01T01:00:00.000Z')).toBe(0);
        expect(await uploadsToRemove(db, 10)).toEqual([{ id: old, user_id: 'alice' }]);
        // The writer outlived the limit: it loses, and its object must go.
        expect(await finishUpload(db, old, whole)).toBe(false);
        expect(await findUpload(db, 'alice', old)).toBeUndefined();
        // Claimed rows stay listed (a sweep that died is finished by the next) until deleted.
        expect(await uploadsToRemove(db, 10)).toHaveLength(1);
        await deleteUnfinishedUpload(db, old);
        expect(await uploadsToRemove(db, 10)).toEqual([]);
        expect(await finishUpload(db, recent, whole)).toBe(true);
        expect((await listUploads(db, 'alice', 10)).map((u) => u.id).sort()).toEqual(
          [recent, stored].sort(),
        );
      });

      it("removes a refused upload's row, which nothing then lists or claims", async () => {
        const id = await begin('alice', '2026-01-01T00:00:00.000Z');
        await deleteUnfinishedUpload(db, id);
        expect(await claimAbandonedUploads(db, nowIso())).toBe(0);
        expect(await uploadsToRemove(db, 10)).toEqual([]);
        expect(await db.selectFrom('uploads').select('id').execute()).toEqual([]);
      });
    });

    describe('column mappings', () => {
      it('are per user, upload and model; replaced whole; cleared by an empty set', async () => {
        const { uploadId } = await seed('alice');
        const key = { userId: 'alice', uploadId, modelId: 'telco-v1' };
        expect(await findColumnOverrides(db, 'alice', uploadId, 'telco-v1')).toEqual({});
        await saveColumnOverrides(db, key, { tenure: 'Months', MonthlyCharges: 'MRR ($)' });
        await saveColumnOverrides(db, { ...key, modelId: 'other' }, { tenure: 'Age' });
        expect(await findColumnOverrides(db, 'alice', uploadId, 'telco-v1')).toEqual({
          tenure: 'Months',
          MonthlyCharges: 'MRR ($)',
        });
        expect(await findColumnOverrides(db, 'bob', uploadId, 'telco-v1')).toEqual({});
        await saveColumnOverrides(db, key, { tenure: 'Tenure (months)' });
        expect(await findColumnOverrides(db, 'alice', uploadId, 'telco-v1')).toEqual({
          tenure: 'Tenure (months)',
        });
        await saveColumnOverrides(db, key, {});
        expect(await findColumnOverrides(db, 'alice', uploadId, 'telco-v1')).toEqual({});
        expect(await findColumnOverrides(db, 'alice', uploadId, 'other')).toEqual({
          tenure: 'Age',
        });
      });

      it("keep a prediction's scoring options as they were when it was made", async () => {
        const { id } = await seed('alice');
        expect((await findPrediction(db, 'alice', id))?.scoring_options).toBeNull();
        const options = { asOf: '2026-11-30T00:00:00.000Z', overrides: { tenure: 'Months' } };
        await db
          .updateTable('predictions')
          .set({ scoring_options: JSON.stringify(options) })
          .where('id', '=', id)
          .execute();
        expect(JSON.parse((await findPrediction(db, 'alice', id))?.scoring_options ?? '')).toEqual(
          options,
        );
      });
    });

    describe('models', () => {
      async function trained(userId: string) {
        const { uploadId } = await seed(userId);
        return insertModel(db, {
          id: randomUUID(),
          user_id: userId,
          name: 'churn',
          upload_id: uploadId,
          label: 'Churned?',
          positive_value: null,
          as_of: '2026-11-30T00:00:00.000Z',
          tier_rule: null,
          created_at: nowIso(),
        });
      }

      it('train once: ready or failed ends it, and a duplicate delivery changes nothing', async () => {
        const model = await trained('alice');
        expect(model.status).toBe('training');
        expect(await startTrainingAttempt(db, model.id)).toBe(true);
        expect(await startTrainingAttempt(db, model.id)).toBe(true); // a redelivery
        await recordTrainingProgress(db, model.id, {
          stage: 'cross-validating',
          done: 3,
          total: 9,
        });
        expect((await findModel(db, 'alice', model.id))?.progress).toBe(
          '{"stage":"cross-validating","done":3,"total":9}',
        );
        const done = { objectKey: 'users/alice/models/x.json', summary: { rows: 5 } };
        expect(await completeModel(db, model.id, done)).toBe(true);
        expect(await completeModel(db, model.id, done)).toBe(false);
        expect(await failModel(db, model.id, { code: 'x', message: 'y' })).toBe(false);
        expect(await startTrainingAttempt(db, model.id)).toBe(false);
        await recordTrainingProgress(db, model.id, { stage: 'late', done: 1, total: 1 });
        expect(await findModel(db, 'alice', model.id)).toMatchObject({
          status: 'ready',
          attempts: 2,
          object_key: done.objectKey,
          summary: '{"rows":5}',
        });
        const failing = await trained('alice');
        expect(await failModel(db, failing.id, { code: 'invalid_csv', message: 'no label' })).toBe(
          true,
        );
        expect(await completeModel(db, failing.id, done)).toBe(false);
        expect((await findModel(db, 'alice', failing.id))?.status).toBe('failed');
      });

      it("are their owner's alone; deleting one clears it as the default", async () => {
        const mine = await trained('alice');
        await trained('bob');
        expect((await listModels(db, 'alice')).map((m) => m.id)).toEqual([mine.id]);
        expect(await findModel(db, 'bob', mine.id)).toBeUndefined();
        expect(await softDeleteModel(db, 'bob', mine.id)).toBeUndefined();
        expect(await findDefaultModel(db, 'alice')).toBeNull();
        await setDefaultModel(db, 'alice', mine.id);
        await setDefaultModel(db, 'bob', 'telco-v1');
        expect(await findDefaultModel(db, 'alice')).toBe(mine.id);
        expect((await softDeleteModel(db, 'alice', mine.id))?.id).toBe(mine.id);
        expect(await findModel(db, 'alice', mine.id)).toBeUndefined();
        expect((await getModelForJob(db, mine.id))?.deleted_at).not.toBeNull();
        expect(await findDefaultModel(db, 'alice')).toBeNull();
        expect(await findDefaultModel(db, 'bob')).toBe('telco-v1');
      });

      it('keep each setting when the other changes: the default model and the table columns', async () => {
        expect(await findTableColumns(db, 'carol')).toEqual([]);
        await setTableColumns(db, 'carol', ['Plan', 'MRR ($)', 'Açaí "owner", é']);
        await setDefaultModel(db, 'carol', 'telco-v1');
        expect(await findTableColumns(db, 'carol')).toEqual(['Plan', 'MRR ($)', 'Açaí "owner", é']);
        await setTableColumns(db, 'carol', []);
        expect(await findDefaultModel(db, 'carol')).toBe('telco-v1');
        expect(await findTableColumns(db, 'carol')).toEqual([]);
        expect(await findTableColumns(db, 'dave')).toEqual([]);
      });

      it('keep a playbook per user, beside the other settings, until it is reset', async () => {
        expect(await findPlaybook(db, 'erin')).toBeNull();
        const playbook = {
          rules: [{ column: 'contract', values: ['Monthly'], action: 'Offer annual, "10%" off' }],
          tiers: { high: 'Call', medium: 'Email', low: 'Nothing' },
        };
        await setTableColumns(db, 'erin', ['Plan']);
        await setPlaybook(db, 'erin', playbook);
        expect(await findPlaybook(db, 'erin')).toEqual(playbook);
        expect(await findTableColumns(db, 'erin')).toEqual(['Plan']);
        expect(await findPlaybook(db, 'frank')).toBeNull();
        await setPlaybook(db, 'erin', null);
        expect(await findPlaybook(db, 'erin')).toBeNull();
        expect(await findTableColumns(db, 'erin')).toEqual(['Plan']);
      });
    });

    describe('customer history', () => {
      /** Customers as a rows index sorts them: ids lower-cased, in byte order. */
      function buckets(customers: [id: string, probability: number, tier: number][]) {
        const sorted = [...customers].sort(([a], [b]) =>
          Buffer.compare(Buffer.from(a), Buffer.from(b)),
        );
        const text = Buffer.from(sorted.map(([id]) => id).join(''));
        const idStarts = new Uint32Array(sorted.length + 1);
        sorted.forEach(([id], k) => {
          idStarts[k + 1] = (idStarts[k] as number) + Buffer.byteLength(id);
        });
        return historyBuckets({
          rows: sorted.length,
          idOrder: Uint32Array.from(sorted.keys()),
          idStarts,
          idText: new Uint8Array(text),
          probabilities: Uint16Array.from(sorted, ([, p]) => p),
          tiers: Uint8Array.from(sorted, ([, , t]) => t),
        });
      }

      async function completed(userId: string, history: ReturnType<typeof buckets>) {
        const { id } = await seed(userId);
        await startAttempt(db, id);
        await writeCustomerHistory(
          db,
          { id, userId, modelId: 'telco-v1', scoredAt: nowIso() },
          history,
        );
        await completePrediction(db, id, {
          rowsScored: 1,
          rowsFailed: 0,
          summary: {},
          resultKey: 'r',
          rowsIndexKey: `i-${id}`,
        });
        return id;
      }

      it("keeps each customer's scores per user, oldest first, found ignoring case", async () => {
        const many = Array.from(
          { length: 3000 },
          (_, i) => [`c-${i}`, i % 10_000, 1 + (i % 3)] as [string, number, number],
        );
        const first = await completed('alice', buckets([...many, ['ünï-1', 9000, 1]]));
        // 3,001 customers: 16 rows of 256 buckets; one customer: one row of all of them.
        expect(buckets(many).map((b) => [b.bucket, b.span])).toEqual(
          Array.from({ length: 16 }, (_, i) => [i * 256, 256]),
        );
        expect(buckets([['x', 1, 1]]).map((b) => b.span)).toEqual([HISTORY_BUCKETS]);
        const second = await completed('alice', buckets([['ünï-1', 1000, 3]]));
        await completed('bob', buckets([['ünï-1', 5000, 2]]));
        expect(await previousPrediction(db, 'alice', 'telco-v1', 'none')).toEqual({
          id: second,
          rowsIndexKey: `i-${second}`,
        });
        const scores = (await customerScores(db, 'alice', 'ÜNÏ-1', { limit: 10 })).scores;
        expect(scores.map((s) => [s.predictionId, s.probability, s.tier])).toEqual([
          [first, 9000, 1],
          [second, 1000, 3],
        ]);
        expect((await customerScores(db, 'alice', 'c-2999', { limit: 10 })).scores).toMatchObject([
          { probability: 2999, tier: 3 },
        ]);
        const none = { scores: [], more: false };
        expect(
          await customerScores(db, 'alice', 'ünï-1', { limit: 10, modelId: 'other-model' }),
        ).toEqual(none);
        expect(await customerScores(db, 'carol', 'ünï-1', { limit: 10 })).toEqual(none);
        // The latest one, and the one before it to tell its change.
        expect(await customerScores(db, 'alice', 'ünï-1', { limit: 1 })).toMatchObject({
          scores: [{ predictionId: first }, { predictionId: second }],
          more: true,
        });
      });

      it('reads on past runs that lack the customer, and says when older scorings exist', async () => {
        const target = await completed('alice', buckets([['target', 4200, 2]]));
        for (let i = 0; i < 30; i++) await completed('alice', buckets([[`other-${i}`, 100, 3]]));
        // Every one-customer run holds every bucket: the first page of 6 has no 'target'.
        expect(await customerScores(db, 'alice', 'target', { limit: 5 })).toEqual({
          scores: [expect.objectContaining({ predictionId: target, probability: 4200, tier: 2 })],
          more: false,
        });
      });

      it('shows only completed, undeleted predictions, and rewrites an attempt whole', async () => {
        const first = await completed('alice', buckets([['a', 10, 3]]));
        const { id: running } = await seed('alice');
        const history = buckets([['a', 20, 3]]);
        const prediction = {
          id: running,
          userId: 'alice',
          modelId: 'telco-v1',
          scoredAt: nowIso(),
        };
        await writeCustomerHistory(db, prediction, history);
        await writeCustomerHistory(db, prediction, history);
        const timeline = await customerScores(db, 'alice', 'a', { limit: 10 });
        expect(timeline.scores.map((s) => s.predictionId)).toEqual([first]);
        await softDeletePrediction(db, 'alice', first);
        expect((await customerScores(db, 'alice', 'a', { limit: 10 })).scores).toEqual([]);
        await deleteCustomerHistory(db, running);
        const left = await db.selectFrom('customer_history').select('prediction_id').execute();
        expect(left).toEqual([]);
      });

      it('writes many batches at once, and ends every insert before reporting one that failed', async () => {
        const { id } = await seed('alice');
        const prediction = { id, userId: 'alice', modelId: 'telco-v1', scoredAt: nowIso() };
        const run = (bucket: number) => ({ bucket, span: 1, customers: 1, entries: '{}' });
        const count = async () =>
          Number(
            (
              await db
                .selectFrom('customer_history')
                .select((eb) => eb.fn.countAll<number>().as('n'))
                .where('prediction_id', '=', id)
                .executeTakeFirstOrThrow()
            ).n,
          );
        // 2,000 runs: five batches over the connections.
        const runs = Array.from({ length: 2000 }, (_, bucket) => run(bucket));
        await writeCustomerHistory(db, prediction, runs);
        expect(await count()).toBe(2000);
        const stored = await db
          .selectFrom('customer_history')
          .select('bucket')
          .where('prediction_id', '=', id)
          .orderBy('bucket')
          .execute();
        expect(stored.map((row) => row.bucket)).toEqual(runs.map((r) => r.bucket));
        // A repeated bucket in the third batch breaks the key: the write fails, and once it has
        // failed nothing more arrives.
        const broken = [...runs.slice(0, 900), run(5), ...runs.slice(901)];
        await expect(writeCustomerHistory(db, prediction, broken)).rejects.toThrow();
        const after = await count();
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(await count()).toBe(after);
        expect(after).toBeLessThan(2000);
        await deleteCustomerHistory(db, id);
        expect(await count()).toBe(0);
      });
    });

    describe('outbox ids', () => {
      it('are numbers that grow with every row', async () => {
        const { id } = await seed('alice');
        for (const body of ['a', 'b', 'c'])
          await addToOutbox(db, { jobId: id, ownerId: 'alice', body });
        const ids = (await pendingOutbox(db, 10)).map((row) => row.id);
        for (const outboxId of ids) expect(typeof outboxId).toBe('number');
        expect([...ids].sort((a, b) => a - b)).toEqual(ids);
        expect(new Set(ids).size).toBe(3);
      });
    });
  });
}
