import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { QueueStats } from '../queue/port.js';

export type JobOutcomeLabel = 'completed' | 'failed' | 'retried' | 'dead_lettered' | 'skipped';

/**
 * The service's Prometheus metrics, one registry per process (tests build their own).
 * Queue gauges are filled from the latest stats snapshot that the monitor takes periodically,
 * so a scrape never waits on the queue backend.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly jobs = new Counter({
    name: 'churnline_jobs_total',
    help: 'Jobs handled, by outcome.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly jobDuration = new Histogram({
    name: 'churnline_job_duration_seconds',
    help: 'Time from a job starting on a worker to its outcome.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly queueWait = new Histogram({
    name: 'churnline_job_queue_wait_seconds',
    help: 'Time from a job being sent to its first receive.',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 1800],
    registers: [this.registry],
  });
  readonly rowsScored = new Counter({
    name: 'churnline_rows_scored_total',
    help: 'Customer rows scored.',
    registers: [this.registry],
  });
  readonly queueMessages = new Gauge({
    name: 'churnline_queue_messages',
    help: 'Messages in the job queue by state (visible, in_flight, delayed).',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });
  readonly oldestMessageAge = new Gauge({
    name: 'churnline_queue_oldest_message_age_seconds',
    help: 'Age of the oldest message in the job queue (NaN when unknown).',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });
  readonly outboxPending = new Gauge({
    name: 'churnline_outbox_pending',
    help: 'Jobs written to the outbox and not yet sent to the queue.',
    registers: [this.registry],
  });
  readonly webhookDeliveries = new Counter({
    name: 'churnline_webhook_attempts_total',
    help: 'Webhook delivery attempts, by outcome (delivered, retrying, failed, abandoned, duplicate).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly quotaRefusals = new Counter({
    name: 'churnline_quota_refusals_total',
    help: 'Requests refused by a per-user limit, by limit (stored_bytes, uploads_per_day, active_jobs, requests_per_second).',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly alarmActive = new Gauge({
    name: 'churnline_alarm_active',
    help: '1 while an alarm is raised.',
    labelNames: ['alarm'] as const,
    registers: [this.registry],
  });

  /**
   * 1 per key id this process holds: `signs` is "true" for the one new jobs are signed with. A
   * worker refuses jobs signed with a key id missing here (the unknown_signing_key alarm);
   * compare across processes, with the fingerprint telling apart two secrets under one id.
   */
  readonly signingKeyInfo = new Gauge({
    name: 'churnline_signing_key_info',
    help: 'Job signing key ids this process holds (never the secret); signs="true" for the one it signs with.',
    labelNames: ['kid', 'fingerprint', 'signs'] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics)
      collectDefaultMetrics({ register: this.registry, prefix: 'churnline_' });
  }

  recordQueueStats(stats: QueueStats): void {
    for (const [queue, depth] of [
      ['main', stats],
      ['dead_letter', stats.deadLetter],
    ] as const) {
      this.queueMessages.set({ queue, state: 'visible' }, depth.visible);
      this.queueMessages.set({ queue, state: 'in_flight' }, depth.inFlight);
      this.queueMessages.set({ queue, state: 'delayed' }, depth.delayed);
      this.oldestMessageAge.set({ queue }, depth.oldestAgeSeconds ?? Number.NaN);
    }
  }
}
