import type { Transaction } from 'kysely';
import type { Db } from '../db/connect.js';
import { insertModel } from '../db/models.js';
import { addToOutbox } from '../db/outbox.js';
import { insertChunks } from '../db/prediction-chunks.js';
import { insertPrediction } from '../db/predictions.js';
import {
  type Database,
  nowIso,
  type Prediction,
  type ScoringOptions,
  type Upload,
  type UserModel,
} from '../db/schema.js';
import { newId } from '../ids.js';
import type { TierRule } from '../model/tier-rules.js';
import { planChunks } from './chunks.js';
import { encodeJobMessage, type SigningKeyring } from './message.js';

/**
 * Opens the transaction a job is submitted in. By default a plain one; the API passes one that
 * holds the user's quota lock and checks the quotas first (src/api/quotas.ts), so the check and
 * the new job commit together.
 */
export type SubmitTransaction = <T>(
  db: Db,
  userId: string,
  work: (trx: Transaction<Database>) => Promise<T>,
) => Promise<T>;

const plainTransaction: SubmitTransaction = (db, _userId, work) => db.transaction().execute(work);

/**
 * Creates a prediction and its job in ONE transaction: the prediction row (queued) and an outbox
 * row holding the signed message. Either both exist or neither; the relay sends the message after
 * the commit, so a job is never lost between the database and the queue. A file larger than
 * `chunkBytes` gets a job per chunk instead, with the chunks' rows (src/jobs/chunks.ts).
 */
export async function submitPrediction(
  db: Db,
  keys: SigningKeyring,
  request: {
    userId: string;
    upload: Upload;
    modelId: string;
    options?: ScoringOptions;
    /** SCORE_CHUNK_BYTES; absent or 0: one job whatever the size. */
    chunkBytes?: number;
  },
  transaction: SubmitTransaction = plainTransaction,
): Promise<Prediction> {
  const now = nowIso();
  const chunks = planChunks(request.upload, request.chunkBytes ?? 0);
  const prediction: Prediction = {
    id: newId(),
    user_id: request.userId,
    upload_id: request.upload.id,
    model_id: request.modelId,
    status: 'queued',
    attempts: 0,
    rows_scored: null,
    rows_failed: null,
    rows_total: request.upload.row_count,
    summary: null,
    result_key: null,
    rows_index_key: null,
    error_code: null,
    error_message: null,
    created_at: now,
    started_at: null,
    completed_at: null,
    updated_at: now,
    deleted_at: null,
    scoring_options: JSON.stringify(request.options ?? { asOf: request.upload.created_at }),
    result_bytes: null,
    chunks: chunks?.length ?? null,
  };
  const job = {
    predictionId: prediction.id,
    userId: request.userId,
    uploadId: request.upload.id,
    objectKey: request.upload.object_key,
    modelId: request.modelId,
    publishedAt: now,
  };
  const bodies = chunks
    ? chunks.map((_, chunk) => encodeJobMessage({ kind: 'score-chunk', ...job, chunk }, keys))
    : [encodeJobMessage(job, keys)];
  await transaction(db, request.userId, async (trx) => {
    await insertPrediction(trx, prediction);
    if (chunks) await insertChunks(trx, prediction.id, chunks);
    for (const body of bodies) {
      await addToOutbox(trx, { jobId: prediction.id, ownerId: request.userId, body });
    }
  });
  return prediction;
}

/**
 * Creates a model in status `training` and its training job in ONE transaction, like a
 * prediction: the relay sends the job once committed, so neither exists without the other.
 */
export async function submitTraining(
  db: Db,
  keys: SigningKeyring,
  request: {
    userId: string;
    upload: Upload;
    name: string;
    label: string;
    positiveValue: string | null;
    asOf: string;
    tiers?: TierRule;
  },
  transaction: SubmitTransaction = plainTransaction,
): Promise<UserModel> {
  const now = nowIso();
  const id = newId();
  const body = encodeJobMessage(
    {
      kind: 'train',
      modelId: id,
      userId: request.userId,
      uploadId: request.upload.id,
      objectKey: request.upload.object_key,
      publishedAt: now,
    },
    keys,
  );
  return transaction(db, request.userId, async (trx) => {
    const model = await insertModel(trx, {
      id,
      user_id: request.userId,
      name: request.name,
      upload_id: request.upload.id,
      label: request.label,
      positive_value: request.positiveValue,
      as_of: request.asOf,
      tier_rule: request.tiers ? JSON.stringify(request.tiers) : null,
      created_at: now,
    });
    await addToOutbox(trx, { jobId: id, ownerId: request.userId, body });
    return model;
  });
}
