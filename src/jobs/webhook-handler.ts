/**
 * Runs one webhook delivery attempt: the delivery must belong to the message's user, or the job
 * is dead-lettered unrun. Only the attempt the delivery is waiting for runs (a duplicate message
 * for an attempt already recorded is acknowledged and skipped); its result is recorded and, when
 * it failed, the next attempt is scheduled hours ahead (src/webhooks/deliveries.ts). A worker
 * dying mid-attempt leaves the attempt unrecorded: the queue redelivers it, and the receiver may
 * see that `webhook-id` twice, as Standard Webhooks receivers expect to.
 */

import type { WebhookDelivery, WebhookEndpoint } from '../db/schema.js';
import { abandonDelivery, getDeliveryForJob } from '../db/webhooks.js';
import { recordAttempt } from '../webhooks/deliveries.js';
import { renderBody, type WebhookEvent } from '../webhooks/events.js';
import { type AttemptResult, postWebhook } from '../webhooks/send.js';
import { webhookHeaders } from '../webhooks/signature.js';
import {
  checkWebhookUrl,
  resolveWebhookTarget,
  STRICT_TARGETS,
  type TargetPolicy,
  WebhookTargetError,
} from '../webhooks/target.js';
import type { JobHandlerDeps } from './job-handler.js';
import type { DeliverWebhookJob } from './message.js';
import { ACK } from './prediction-handler.js';
import type { JobContext, JobOutcome } from './worker.js';

export async function handleWebhookJob(
  deps: JobHandlerDeps,
  job: DeliverWebhookJob,
  context: JobContext,
): Promise<JobOutcome> {
  const { db, metrics } = deps;
  const found = await getDeliveryForJob(db, job.deliveryId);
  if (!found || found.delivery.user_id !== job.userId || found.endpoint.user_id !== job.userId) {
    metrics.jobs.inc({ outcome: 'dead_lettered' });
    return {
      kind: 'dead-letter',
      reason: found
        ? "job's user is not the webhook's owner"
        : 'no webhook delivery with this id exists',
    };
  }
  const { delivery, endpoint } = found;
  if (delivery.status !== 'pending' || delivery.attempts !== job.attempt - 1) {
    metrics.jobs.inc({ outcome: 'skipped' });
    return ACK;
  }
  const log = deps.log.child({ deliveryId: delivery.id, attempt: job.attempt });
  const gone = endpoint.deleted_at
    ? 'The endpoint was deleted before this attempt.'
    : endpoint.disabled_at
      ? 'The endpoint was disabled before this attempt.'
      : null;
  if (gone) {
    if (await abandonDelivery(db, delivery.id, delivery.attempts, gone)) {
      metrics.webhookDeliveries.inc({ outcome: 'abandoned' });
    }
    metrics.jobs.inc({ outcome: 'skipped' });
    return ACK;
  }
  const result = await attempt(delivery, endpoint, deps.webhookTargets ?? STRICT_TARGETS, context);
  // Cut short by shutdown or a lost lease: not the receiver's doing; the queue redelivers it.
  if (context.signal.aborted) return { kind: 'retry', error: context.signal.reason };
  const outcome = await recordAttempt(db, deps.signingKeys, delivery, job.attempt, result);
  metrics.webhookDeliveries.inc({ outcome });
  metrics.jobs.inc({ outcome: outcome === 'duplicate' ? 'skipped' : 'completed' });
  log.info({ outcome, status: result.status, error: result.error }, 'webhook attempt');
  return ACK;
}

/** One POST, signed now; a target refused at this moment is a failed attempt, not an error. */
async function attempt(
  delivery: WebhookDelivery,
  endpoint: WebhookEndpoint,
  policy: TargetPolicy,
  context: JobContext,
): Promise<AttemptResult> {
  try {
    // Checked again: the operator may have tightened the policy since the URL was registered.
    const url = checkWebhookUrl(endpoint.url, policy);
    const address = await resolveWebhookTarget(url, policy);
    const body = renderBody(JSON.parse(delivery.payload) as WebhookEvent, endpoint.format);
    const headers = webhookHeaders(signingSecrets(endpoint), {
      id: delivery.id,
      timestamp: Math.floor(Date.now() / 1000),
      body,
    });
    return await postWebhook({ url, address, headers, body, signal: context.signal });
  } catch (error) {
    if (!(error instanceof WebhookTargetError)) throw error;
    return { ok: false, status: null, error: error.message };
  }
}

/** The current secret, and the previous one until it expires (rotation). */
export function signingSecrets(endpoint: WebhookEndpoint, now = Date.now()): string[] {
  const previous = endpoint.previous_secret;
  const until = endpoint.previous_secret_expires_at;
  return previous && until && Date.parse(until) > now
    ? [endpoint.secret, previous]
    : [endpoint.secret];
}

/**
 * A dead-lettered attempt (its workers died, or the database was down on every receive) counts
 * as failed, and the delivery's schedule goes on from there, so it is not left pending forever.
 */
export async function recordDeadLetteredAttempt(
  deps: {
    db: JobHandlerDeps['db'];
    signingKeys: JobHandlerDeps['signingKeys'];
    log: JobHandlerDeps['log'];
  },
  job: DeliverWebhookJob,
): Promise<void> {
  const found = await getDeliveryForJob(deps.db, job.deliveryId);
  if (!found || found.delivery.user_id !== job.userId) return;
  if (found.delivery.status !== 'pending' || found.delivery.attempts !== job.attempt - 1) return;
  const outcome = await recordAttempt(deps.db, deps.signingKeys, found.delivery, job.attempt, {
    ok: false,
    status: null,
    error: 'The attempt did not finish on our side; it is retried on the usual schedule.',
  });
  deps.log.warn({ deliveryId: job.deliveryId, outcome }, 'webhook attempt was dead-lettered');
}
