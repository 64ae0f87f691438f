/**
 * The quota repository's contract (quotas.ts), run on every engine (sqlite.test.ts,
 * postgres.test.ts): what counts toward each quota, and that the user's quota lock makes a
 * check-then-take atomic for concurrent requests.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from './connect.js';
import { failModel, insertModel, softDeleteModel } from './models.js';
import {
  completePrediction,
  failPrediction,
  insertPrediction,
  softDeletePrediction,
  startAttempt,
} from './predictions.js';
import {
  clearQuotaOverrides,
  findQuotaOverrides,
  jobsReadingUpload,
  readUsage,
  setQuotaOverrides,
  withUserQuotaLock,
} from './quotas.js';
import type { DatabaseFactory, DatabaseUnderTest } from './repositories.contract.js';
import type { UploadState } from './schema.js';
import { beginUpload, claimAbandonedUploads, insertUpload, softDeleteUpload } from './uploads.js';

const DAY = '2026-03-02T00:00:00.000Z';
const TODAY = '2026-03-02T09:00:00.000Z';
const YESTERDAY = '2026-03-01T23:59:59.999Z';

export function describeQuotaRepositoryContract(engine: string, open: DatabaseFactory): void {
  describe(`quota repository: ${engine}`, () => {
    let db: Db;
    let under: DatabaseUnderTest;
    beforeEach(async () => {
      under = await open();
      db = under.db;
    });
    afterEach(async () => {
      await under.cleanup();
    });

    async function upload(userId: string, bytes: number, createdAt = TODAY, state?: UploadState) {
      const id = randomUUID();
      await insertUpload(db, {
        id,
        user_id: userId,
        filename: 'customers.csv',
        object_key: `users/${userId}/uploads/${id}.csv`,
        bytes,
        sha256: 'x'.repeat(64),
        row_count: 1,
        created_at: createdAt,
        deleted_at: null,
        ...(state ? { state } : {}),
      });
      return id;
    }

    async function prediction(userId: string, uploadId: string) {
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
        created_at: TODAY,
        started_at: null,
        completed_at: null,
        updated_at: TODAY,
        deleted_at: null,
      });
      return id;
    }

    const complete = (id: string, resultBytes: number) =>
      completePrediction(db, id, {
        rowsScored: 1,
        rowsFailed: 0,
        summary: {},
        resultKey: `r/${id}`,
        resultBytes,
      });

    const training = (userId: string, uploadId: string) =>
      insertModel(db, {
        id: randomUUID(),
        user_id: userId,
        name: 'churn',
        upload_id: uploadId,
        label: 'Churned?',
        positive_value: null,
        as_of: TODAY,
        tier_rule: null,
        created_at: TODAY,
      });

    it('is all zeros for a user with nothing', async () => {
      expect(await readUsage(db, 'alice', DAY)).toEqual({
        storedBytes: 0,
        uploadBytes: 0,
        resultBytes: 0,
        uploadsToday: 0,
        activePredictions: 0,
        activeTrainings: 0,
      });
    });

    it('counts stored uploads, reservations and kept results, not deleted or abandoned ones', async () => {
      const kept = await upload('alice', 5_000_000_000); // beyond 32 bits
      await upload('alice', 300, TODAY, 'removing');
      const deleted = await upload('alice', 7);
      expect(await softDeleteUpload(db, 'alice', deleted)).toBeDefined();
      await beginUpload(
        db,
        {
          id: randomUUID(),
          user_id: 'alice',
          filename: 'big.csv',
          object_key: 'k',
          created_at: TODAY,
        },
        1000,
      );
      await upload('bob', 1_000_000);
      const done = await prediction('alice', kept);
      await complete(done, 4000);
      const gone = await prediction('alice', kept);
      await complete(gone, 100_000);
      await softDeletePrediction(db, 'alice', gone);
      const failed = await prediction('alice', kept);
      await failPrediction(db, failed, { code: 'x', message: 'y' });
      expect(await readUsage(db, 'alice', DAY)).toMatchObject({
        uploadBytes: 5_000_001_000,
        resultBytes: 4000,
        storedBytes: 5_000_005_000,
      });
    });

    it("counts today's uploads from the day's start, deleted ones too, not refused ones", async () => {
      await upload('alice', 1, YESTERDAY);
      await upload('alice', 1, DAY);
      const deleted = await upload('alice', 1);
      await softDeleteUpload(db, 'alice', deleted);
      // Refused or abandoned (a claimed sweep), and another user's: none counts.
      await upload('alice', 1, TODAY, 'storing');
      expect(await claimAbandonedUploads(db, '2026-03-02T09:00:00.001Z')).toBe(1);
      await upload('bob', 1);
      expect((await readUsage(db, 'alice', DAY)).uploadsToday).toBe(2);
    });

    it('counts queued and running predictions and trainings as active jobs', async () => {
      const file = await upload('alice', 1);
      const queued = await prediction('alice', file);
      const running = await prediction('alice', file);
      await startAttempt(db, running);
      await complete(await prediction('alice', file), 1);
      await softDeletePrediction(db, 'alice', await prediction('alice', file));
      await training('alice', file);
      const failedModel = await training('alice', file);
      await failModel(db, failedModel.id, { code: 'x', message: 'y' });
      const deletedModel = await training('alice', file);
      await softDeleteModel(db, 'alice', deletedModel.id);
      await prediction('bob', await upload('bob', 1));
      expect(await readUsage(db, 'alice', DAY)).toMatchObject({
        activePredictions: 2,
        activeTrainings: 1,
      });
      expect(await jobsReadingUpload(db, file)).toBe(3);
      await failPrediction(db, queued, { code: 'x', message: 'y' });
      expect(await jobsReadingUpload(db, file)).toBe(2);
    });

    it("keeps a user's own limits: set, changed one at a time, back to the default, cleared", async () => {
      expect(await findQuotaOverrides(db, 'alice')).toBeUndefined();
      expect(
        await setQuotaOverrides(db, 'alice', { storedBytes: 50 * 1024 ** 3, ratePerSecond: 0.5 }),
      ).toEqual({ storedBytes: 50 * 1024 ** 3, ratePerSecond: 0.5 });
      expect(await setQuotaOverrides(db, 'alice', { activeJobs: 0, ratePerSecond: null })).toEqual({
        storedBytes: 50 * 1024 ** 3,
        activeJobs: 0,
      });
      await setQuotaOverrides(db, 'bob', { uploadsPerDay: 3, rateBurst: 7 });
      expect(await findQuotaOverrides(db, 'alice')).toEqual({
        storedBytes: 50 * 1024 ** 3,
        activeJobs: 0,
      });
      expect(await clearQuotaOverrides(db, 'alice')).toBe(true);
      expect(await clearQuotaOverrides(db, 'alice')).toBe(false);
      expect(await findQuotaOverrides(db, 'alice')).toBeUndefined();
      expect(await findQuotaOverrides(db, 'bob')).toEqual({ uploadsPerDay: 3, rateBurst: 7 });
    });

    it('makes check-then-take atomic: of 8 concurrent takers of a quota of 3, 3 get it', async () => {
      const take = () =>
        withUserQuotaLock(db, 'alice', async (trx) => {
          const usage = await readUsage(trx, 'alice', DAY);
          if (usage.uploadsToday >= 3) return false;
          // A round trip between the check and the take, where a race would slip in.
          await readUsage(trx, 'alice', DAY);
          await beginUpload(trx, {
            id: randomUUID(),
            user_id: 'alice',
            filename: 'f.csv',
            object_key: 'k',
            created_at: TODAY,
          });
          return true;
        });
      const taken = await Promise.all(Array.from({ length: 8 }, take));
      expect(taken.filter(Boolean)).toHaveLength(3);
      expect((await readUsage(db, 'alice', DAY)).uploadsToday).toBe(3);
    });

    // SQLite has one writer per file, so there every user's lock is the same one.
    it.skipIf(engine !== 'postgres')("never makes one user wait for another's lock", async () => {
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let entered: () => void = () => {};
      const aliceIn = new Promise<void>((resolve) => {
        entered = resolve;
      });
      const alice = withUserQuotaLock(db, 'alice', async () => {
        entered();
        await held;
      });
      await aliceIn;
      // Bob's lock is granted while Alice still holds hers.
      await withUserQuotaLock(db, 'bob', async (trx) => readUsage(trx, 'bob', DAY));
      release();
      await alice;
    });
  });
}
