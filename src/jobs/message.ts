/**
 * The job message, schema v1: one module imported by the publisher (API) and the consumer
 * (worker), so the two cannot drift apart. A job has a kind (score, score-chunk, assemble, train,
 * deliver-webhook), each with its own fields and its own handler. A message is an envelope around
 * the job's exact JSON text, signed with HMAC-SHA256 under a key id, so keys can rotate without dropping jobs.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { checkObjectKey, isUserId, isUuid } from '../ids.js';

export const MESSAGE_VERSION = 1;
/** A message older than this is a replay, not a job. */
export const MAX_MESSAGE_AGE_MS = 24 * 3600 * 1000;
/** Clocks drift; a message from further ahead than this is forged or misconfigured. */
export const MAX_CLOCK_AHEAD_MS = 3600 * 1000;

/** A shipped model's name, or the UUID of a model the user trained. */
const MODEL_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

// Lower-case canonical UUIDs only, like every id the service makes (ids.ts): a second spelling of
// an id would look up nothing on SQLite and the same row on PostgreSQL.
const uuid = () => z.string().refine(isUuid, 'is not a lower-case UUID');

/** The object key must be the job's own upload, under its user's prefix. */
function refineUploadKey(
  job: { objectKey: string; userId: string; uploadId: string },
  ctx: z.RefinementCtx,
): void {
  const key = checkObjectKey(job.objectKey, job.userId);
  if (!key.ok) ctx.addIssue({ code: 'custom', path: ['objectKey'], message: key.reason });
  else if (key.kind !== 'upload' || key.id !== job.uploadId) {
    ctx.addIssue({
      code: 'custom',
      path: ['objectKey'],
      message: 'object key is not the upload of this job',
    });
  }
}

/** What every job of a prediction names: checked against the prediction before any work. */
const predictionJobShape = {
  predictionId: uuid(),
  userId: z.string().refine(isUserId, 'is not a valid user id'),
  uploadId: uuid(),
  objectKey: z.string().max(1024),
  modelId: z.string().regex(MODEL_ID, 'is not a valid model id'),
  publishedAt: z.iso.datetime({ offset: false }),
};

/**
 * Score an upload into a prediction's results. Its messages carry no `kind` (they predate
 * kinds), so workers of an earlier version still read the ones a newer API sends.
 */
export const scoreJobSchema = z
  .object({ kind: z.literal('score').optional(), ...predictionJobShape })
  .strict()
  .superRefine(refineUploadKey);

/**
 * Score chunk `chunk` of a prediction scored in chunks (src/jobs/chunks.ts): its byte range is
 * in the prediction's chunk row, not in the message, so a message can name nothing but its own.
 */
export const scoreChunkJobSchema = z
  .object({
    kind: z.literal('score-chunk'),
    ...predictionJobShape,
    chunk: z.number().int().min(0).max(1_000_000),
  })
  .strict()
  .superRefine(refineUploadKey);

/** Join a prediction's scored chunks into its results, rows index and summary, once. */
export const assembleJobSchema = z
  .object({ kind: z.literal('assemble'), ...predictionJobShape })
  .strict()
  .superRefine(refineUploadKey);

/** Train the user's model `modelId` on a labelled upload (the label and options are in its row). */
export const trainJobSchema = z
  .object({
    kind: z.literal('train'),
    modelId: uuid(),
    userId: z.string().refine(isUserId, 'is not a valid user id'),
    uploadId: uuid(),
    objectKey: z.string().max(1024),
    publishedAt: z.iso.datetime({ offset: false }),
  })
  .strict()
  .superRefine(refineUploadKey);

/** A webhook delivery's stable id, the `webhook-id` header (src/webhooks/deliveries.ts). */
export const DELIVERY_ID = /^msg_[0-9a-f]{32}$/;

/**
 * Attempt `attempt` of webhook delivery `deliveryId` (src/jobs/webhook-handler.ts). Each attempt
 * is its own message with its own `publishedAt`: retries hours apart stay within the replay window.
 */
export const deliverWebhookJobSchema = z
  .object({
    kind: z.literal('deliver-webhook'),
    deliveryId: z.string().regex(DELIVERY_ID, 'is not a webhook delivery id'),
    userId: z.string().refine(isUserId, 'is not a valid user id'),
    attempt: z.number().int().min(1).max(100),
    publishedAt: z.iso.datetime({ offset: false }),
  })
  .strict();

export const jobSchema = z.union([
  trainJobSchema,
  deliverWebhookJobSchema,
  scoreChunkJobSchema,
  assembleJobSchema,
  scoreJobSchema,
]);

export type ScoreJob = z.infer<typeof scoreJobSchema>;
export type ScoreChunkJob = z.infer<typeof scoreChunkJobSchema>;
export type AssembleJob = z.infer<typeof assembleJobSchema>;
/** A job of a prediction: whatever its kind, it names the prediction, owner, upload and model. */
export type PredictionJob = ScoreJob | ScoreChunkJob | AssembleJob;
export type TrainJob = z.infer<typeof trainJobSchema>;
export type DeliverWebhookJob = z.infer<typeof deliverWebhookJobSchema>;
export type Job = z.infer<typeof jobSchema>;

const envelopeSchema = z
  .object({
    v: z.literal(MESSAGE_VERSION),
    kid: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
    sig: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
    job: z.string().max(4096),
  })
  .strict();

export interface SigningKey {
  readonly id: string;
  readonly secret: Buffer;
}

/** Signing keys: the first signs; all verify (old keys stay until their messages are gone). */
export interface SigningKeyring {
  readonly active: SigningKey;
  readonly all: ReadonlyMap<string, SigningKey>;
}

/** Why a message was refused; the worker dead-letters it with this reason and never runs it. */
export class InvalidJobMessageError extends Error {
  override name = 'InvalidJobMessageError';
}

/**
 * A well-formed envelope whose key id this process does not hold, or whose signature does not
 * match the secret it holds under that id: usually processes given different JOB_SIGNING_KEYS,
 * which the worker reports as a configuration problem (signing-key-mismatch.ts).
 */
export class SigningKeyMismatchError extends InvalidJobMessageError {
  override name = 'SigningKeyMismatchError';
  constructor(
    readonly kid: string,
    readonly mismatch: 'unknown_key' | 'bad_signature',
  ) {
    super(
      mismatch === 'unknown_key'
        ? `message is signed with unknown key id ${kid}`
        : 'message signature does not match',
    );
  }
}

function sign(key: SigningKey, jobJson: string): string {
  return createHmac('sha256', key.secret)
    .update(`churnline-job-v${MESSAGE_VERSION}.${jobJson}`)
    .digest('base64url');
}

/** The job's JSON with its fields in one fixed order per kind. */
function canonicalJson(job: Job): string {
  if (job.kind === 'deliver-webhook') {
    const valid = deliverWebhookJobSchema.parse(job);
    return JSON.stringify({
      kind: valid.kind,
      deliveryId: valid.deliveryId,
      userId: valid.userId,
      attempt: valid.attempt,
      publishedAt: valid.publishedAt,
    });
  }
  if (job.kind === 'train') {
    const valid = trainJobSchema.parse(job);
    return JSON.stringify({
      kind: valid.kind,
      modelId: valid.modelId,
      userId: valid.userId,
      uploadId: valid.uploadId,
      objectKey: valid.objectKey,
      publishedAt: valid.publishedAt,
    });
  }
  if (job.kind === 'score-chunk' || job.kind === 'assemble') {
    const valid =
      job.kind === 'score-chunk' ? scoreChunkJobSchema.parse(job) : assembleJobSchema.parse(job);
    return JSON.stringify({
      kind: valid.kind,
      ...predictionFields(valid),
      ...('chunk' in valid ? { chunk: valid.chunk } : {}),
    });
  }
  return JSON.stringify(predictionFields(scoreJobSchema.parse(job)));
}

/** A prediction job's common fields, in the one order they are signed in. */
function predictionFields(job: PredictionJob) {
  return {
    predictionId: job.predictionId,
    userId: job.userId,
    uploadId: job.uploadId,
    objectKey: job.objectKey,
    modelId: job.modelId,
    publishedAt: job.publishedAt,
  };
}

/** Builds the message body for a job (validated first: the publisher cannot send a bad job). */
export function encodeJobMessage(job: Job, keys: SigningKeyring): string {
  const jobJson = canonicalJson(job);
  return JSON.stringify({
    v: MESSAGE_VERSION,
    kid: keys.active.id,
    sig: sign(keys.active, jobJson),
    job: jobJson,
  });
}

/** Verifies and decodes a message body: shape, key id, signature, schema, then age. */
export function decodeJobMessage(body: string, keys: SigningKeyring, now = Date.now()): Job {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new InvalidJobMessageError('message body is not JSON');
  }
  const envelope = envelopeSchema.safeParse(parsed);
  if (!envelope.success) {
    throw new InvalidJobMessageError(`message envelope is invalid: ${summarise(envelope.error)}`);
  }
  const key = keys.all.get(envelope.data.kid);
  if (!key) throw new SigningKeyMismatchError(envelope.data.kid, 'unknown_key');
  const expected = Buffer.from(sign(key, envelope.data.job));
  const given = Buffer.from(envelope.data.sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new SigningKeyMismatchError(envelope.data.kid, 'bad_signature');
  }
  let jobJson: unknown;
  try {
    jobJson = JSON.parse(envelope.data.job);
  } catch {
    throw new InvalidJobMessageError('job is not JSON');
  }
  const job = jobSchema.safeParse(jobJson);
  if (!job.success) throw new InvalidJobMessageError(`job is invalid: ${summarise(job.error)}`);
  const publishedAt = Date.parse(job.data.publishedAt);
  if (now - publishedAt > MAX_MESSAGE_AGE_MS) {
    throw new InvalidJobMessageError(
      `message was published at ${job.data.publishedAt}, more than 24 h ago (replay window)`,
    );
  }
  if (publishedAt - now > MAX_CLOCK_AHEAD_MS) {
    throw new InvalidJobMessageError(
      `message claims to be published at ${job.data.publishedAt}, more than 1 h in the future`,
    );
  }
  return job.data;
}

function summarise(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || 'body'} ${issue.message}`)
    .join('; ');
}
