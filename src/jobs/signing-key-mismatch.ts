/**
 * A job signed with a key id this worker does not hold (or whose secret differs from the one it
 * holds under that id) almost always means processes were given different JOB_SIGNING_KEYS. It
 * used to be dead-lettered silently: a worker with other keys failed every job, another worker
 * then reported "a temporary problem on our side", and with no worker holding the API's key the
 * predictions stayed `queued` for ever. Now it raises the `unknown_signing_key` alarm. A job the
 * database vouches for (below) is given back for another worker while attempts remain (during a
 * rolling key rotation another worker may hold the key), and on its last attempt its prediction
 * (or model) fails with a message that names the key id and the fix. Anything else is
 * dead-lettered at once, as before.
 *
 * Why it is safe to act on a message that does not verify: this worker acts only when the
 * database vouches for it. The outbox keeps every job body an API process wrote, byte for byte,
 * in the same transaction as its prediction (and a day after sending, as long as the replay
 * window). A message whose exact body is the outbox row of the id it names was written by an API
 * of this deployment; its JSON is then ours, and its owner is checked against the row as for any
 * verified job. A forger who cannot write to the database cannot produce such a body: changing
 * any byte (the key id, the ids, the signature) leaves it unvouched, and an unvouched message
 * only raises the alarm and is dead-lettered, failing nothing. Residual risk: someone who can
 * read a genuine message and send to the queue can replay it to a misconfigured worker, which
 * then fails that still-unfinished prediction; but that worker would have failed it anyway on
 * the genuine delivery, and such a reader could as well delete the message.
 */
import type { BlobStore } from '../blobs/port.js';
import type { Db } from '../db/connect.js';
import { failModel, getModelForJob } from '../db/models.js';
import { failPrediction, getPredictionForJob, TERMINAL_STATUSES } from '../db/predictions.js';
import { isUuid } from '../ids.js';
import type { Logger } from '../log.js';
import type { Alarms } from '../monitor/alarms.js';
import type { Metrics } from '../monitor/metrics.js';
import { discardResults } from './discard-results.js';
import {
  type Job,
  jobSchema,
  type SigningKeyMismatchError,
  type SigningKeyring,
} from './message.js';
import { checkOwnership } from './prediction-handler.js';
import { checkTrainingOwnership } from './train-handler.js';
import type { JobOutcome } from './worker.js';

export const CONFIGURATION_PROBLEM = 'configuration_problem';
export const UNKNOWN_SIGNING_KEY_ALARM = 'unknown_signing_key';

/** What the user reads on a job no worker could verify: the key id and the operator's fix. */
export function configurationProblemMessage(
  kid: string,
  mismatch: SigningKeyMismatchError['mismatch'],
  who: 'this worker' | 'a worker' = 'this worker',
): string {
  const what =
    mismatch === 'unknown_key'
      ? `which ${who} does not have`
      : `but ${who} holds a different secret under that key id`;
  return `Configuration problem: this job was signed with key id ${kid}, ${what}. Give every API and worker process the same JOB_SIGNING_KEYS.`;
}

/** The dead-letter reasons decodeJobMessage gives a key mismatch (see SigningKeyMismatchError). */
export function mismatchOfReason(
  reason: string | undefined,
): SigningKeyMismatchError['mismatch'] | undefined {
  if (reason?.startsWith('message is signed with unknown key id')) return 'unknown_key';
  if (reason?.startsWith('message signature does not match')) return 'bad_signature';
  return undefined;
}

export interface SigningKeyMismatchDeps {
  readonly db: Db;
  readonly blobs: BlobStore;
  readonly signingKeys: SigningKeyring;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly alarms?: Alarms;
}

/** Alarms; retries a job the database vouches for, failing it on its last attempt; else dead-letters. */
export async function handleSigningKeyMismatch(
  deps: SigningKeyMismatchDeps,
  body: string,
  context: { readonly isLastAttempt: boolean },
  error: SigningKeyMismatchError,
): Promise<JobOutcome> {
  const held = [...deps.signingKeys.all.keys()].join(', ');
  const vouched = await jobVouchedForByOutbox(deps.db, body);
  const alarm = `Jobs signed with key id ${error.kid} reach a worker that ${
    error.mismatch === 'unknown_key'
      ? 'does not have that key id'
      : 'holds a different secret under that key id'
  } (it holds ${held}): ${
    vouched
      ? 'an API process of this deployment signs with it'
      : 'no API process of this deployment wrote this message (forged, or another deployment sends to this queue)'
  }. Give every API and worker process the same JOB_SIGNING_KEYS.`;
  deps.log.error({ kid: error.kid, mismatch: error.mismatch, held, vouched: !!vouched }, alarm);
  await deps.alarms?.report(UNKNOWN_SIGNING_KEY_ALARM, alarm);
  if (vouched && !context.isLastAttempt) {
    deps.metrics.jobs.inc({ outcome: 'retried' });
    return { kind: 'retry', error: new Error(alarm) };
  }
  if (vouched) await failVouchedJob(deps, vouched, error);
  deps.metrics.jobs.inc({ outcome: 'dead_lettered' });
  return { kind: 'dead-letter', reason: error.message };
}

/**
 * The job in `body` when the outbox holds exactly this body for the id it names. The unverified
 * JSON is read only to find that id; nothing else in it is used unless the row matches.
 */
export async function jobVouchedForByOutbox(db: Db, body: string): Promise<Job | undefined> {
  let jobJson: unknown;
  try {
    const envelope = JSON.parse(body) as { job?: unknown };
    if (typeof envelope?.job !== 'string') return undefined;
    jobJson = JSON.parse(envelope.job);
  } catch {
    return undefined;
  }
  const named = jobJson as { kind?: unknown; predictionId?: unknown; modelId?: unknown } | null;
  const id = named?.kind === 'train' ? named.modelId : named?.predictionId;
  if (!isUuid(id)) return undefined;
  const rows = await db.selectFrom('outbox').select('body').where('job_id', '=', id).execute();
  if (!rows.some((row) => row.body === body)) return undefined;
  const job = jobSchema.safeParse(jobJson);
  return job.success ? job.data : undefined;
}

async function failVouchedJob(
  deps: SigningKeyMismatchDeps,
  job: Job,
  error: SigningKeyMismatchError,
): Promise<void> {
  const failure = {
    code: CONFIGURATION_PROBLEM,
    message: configurationProblemMessage(error.kid, error.mismatch),
  };
  if (job.kind === 'train') {
    const model = await getModelForJob(deps.db, job.modelId);
    if (!model || model.deleted_at !== null || model.status !== 'training') return;
    if (await checkTrainingOwnership(deps.db, job, model)) return;
    if (await failModel(deps.db, job.modelId, failure))
      deps.log.warn({ modelId: job.modelId }, `model failed: ${failure.message}`);
    return;
  }
  // A webhook delivery has no prediction or model to fail: its dead letter is alarm enough.
  if (job.kind === 'deliver-webhook') return;
  const prediction = await getPredictionForJob(deps.db, job.predictionId);
  if (!prediction || prediction.deleted_at !== null) return;
  if (TERMINAL_STATUSES.includes(prediction.status)) return;
  if (await checkOwnership(deps.db, job, prediction)) return;
  if (await failPrediction(deps.db, job.predictionId, failure)) {
    // An earlier attempt on a worker that had the key may have stored results before it died.
    await discardResults(deps.blobs, deps.log, { ...job, chunks: prediction.chunks });
    deps.log.warn({ predictionId: job.predictionId }, `prediction failed: ${failure.message}`);
  }
}
