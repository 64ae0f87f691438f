/**
 * What must hold after every fault run, checked the same way for every fault and setup: every
 * prediction terminal; exactly one result object (and its rows index) per completed prediction,
 * each the object its row names (result_key, rows_index_key), and none for a failed or
 * cancelled one; no object that no row references, and no half-written leftovers; the outbox
 * sent; the queue empty, nothing in flight, and the dead-letter queue as expected.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { BlobStore } from '../../src/blobs/port.js';
import type { Db } from '../../src/db/connect.js';
import { outboxBacklog } from '../../src/db/outbox.js';
import { resultKey, rowsIndexKey } from '../../src/ids.js';
import type { JobQueue, QueueStats } from '../../src/queue/port.js';

export interface InvariantTargets {
  readonly db: Db;
  readonly blobs: BlobStore;
  readonly queue: JobQueue;
  /** Dead letters the run is expected to leave (default none). */
  readonly deadLetters?: number;
  /** What a key listing cannot see: temporary files on disk, say (see fsLeftovers). */
  readonly leftovers?: () => Promise<string[]>;
  /** Settling (an ack, a relay) may lag the last status change: retry until then. */
  readonly timeoutMs?: number;
}

export interface FaultReport {
  readonly predictions: number;
  readonly completed: number;
  readonly failed: number;
  readonly results: number;
  readonly orphans: string[];
  readonly leftovers: string[];
  /** Attempts per prediction, in creation order. */
  readonly attempts: number[];
  readonly errorCodes: string[];
  readonly queue: QueueStats;
  readonly outboxPending: number;
}

export async function checkInvariants(targets: InvariantTargets): Promise<FaultReport> {
  const deadline = Date.now() + (targets.timeoutMs ?? 15_000);
  for (;;) {
    const { report, violations } = await inspect(targets);
    if (violations.length === 0) return report;
    if (Date.now() > deadline) {
      throw new Error(
        `fault invariants violated:\n- ${violations.join('\n- ')}\n${JSON.stringify(report)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** One line per summary, for the test log and docs/reliability.md. */
export function describeReport(report: FaultReport): string {
  return `${report.predictions} predictions, ${report.completed} completed, ${report.failed} failed, ${report.results} results, ${report.orphans.length + report.leftovers.length} orphans, attempts ${report.attempts.join('/')}, dead letters ${report.queue.deadLetter.visible}`;
}

async function inspect(
  targets: InvariantTargets,
): Promise<{ report: FaultReport; violations: string[] }> {
  const { db, blobs, queue } = targets;
  const predictions = await db
    .selectFrom('predictions')
    .select(['id', 'user_id', 'status', 'attempts', 'result_key', 'rows_index_key', 'error_code'])
    .where('deleted_at', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const uploads = await db.selectFrom('uploads').select('object_key').execute();
  const keys = new Set(await blobs.list('users/'));
  const [queueStats, outbox, leftovers] = await Promise.all([
    queue.stats(),
    outboxBacklog(db),
    targets.leftovers?.() ?? Promise.resolve([]),
  ]);

  const violations: string[] = [];
  const referenced = new Set(uploads.map((upload) => upload.object_key));
  let results = 0;
  for (const p of predictions) {
    const key = resultKey(p.user_id, p.id);
    if (p.status !== 'completed' && p.status !== 'failed' && p.status !== 'cancelled')
      violations.push(`${p.id} is ${p.status}, not terminal`);
    const index = rowsIndexKey(p.user_id, p.id);
    if (p.status === 'completed') {
      referenced.add(key);
      referenced.add(index);
      if (p.rows_index_key !== index)
        violations.push(`${p.id} completed with rows_index_key ${p.rows_index_key}`);
      if (!keys.has(index)) violations.push(`${p.id} completed without its rows index`);
      if (p.result_key !== key)
        violations.push(`${p.id} completed with result_key ${p.result_key}`);
      if (keys.has(key)) results++;
      else violations.push(`${p.id} completed without its result object`);
    } else if (keys.has(key) || keys.has(index)) {
      violations.push(`${p.id} is ${p.status} but has a result object or rows index`);
    }
  }
  const orphans = [...keys].filter((key) => !referenced.has(key));
  if (orphans.length > 0) violations.push(`objects no row references: ${orphans.join(', ')}`);
  if (leftovers.length > 0) violations.push(`half-written leftovers: ${leftovers.join(', ')}`);
  if (outbox.pending > 0) violations.push(`${outbox.pending} jobs still in the outbox`);
  const { visible, inFlight, delayed } = queueStats;
  if (visible + inFlight + delayed > 0)
    violations.push(
      `queue not empty: ${visible} visible, ${inFlight} in flight, ${delayed} delayed`,
    );
  const expectedDead = targets.deadLetters ?? 0;
  // A dead letter being looked at (the reconciler's receive on SQS leaves it in flight for a
  // while on the emulator) is a dead letter still.
  const dead = queueStats.deadLetter.visible + queueStats.deadLetter.inFlight;
  if (dead !== expectedDead) violations.push(`${dead} dead letters, expected ${expectedDead}`);

  const completed = predictions.filter((p) => p.status === 'completed').length;
  return {
    violations,
    report: {
      predictions: predictions.length,
      completed,
      failed: predictions.filter((p) => p.status === 'failed').length,
      results,
      orphans,
      leftovers,
      attempts: predictions.map((p) => p.attempts),
      errorCodes: predictions.flatMap((p) => (p.error_code ? [p.error_code] : [])),
      queue: queueStats,
      outboxPending: outbox.pending,
    },
  };
}

/**
 * Files under a local blob root that are not whole objects: temporary files of a write that never
 * finished (their names carry `~tmp-`), and sidecars whose object is gone.
 */
export function fsLeftovers(root: string): () => Promise<string[]> {
  return async () => {
    const found: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      const names = new Set(entries.map((entry) => entry.name));
      for (const entry of entries) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.name.includes('~tmp-') || entry.name.includes('~meta-tmp-'))
          found.push(path.relative(root, full));
        else if (entry.name.endsWith('~meta.json') && !names.has(entry.name.slice(0, -10)))
          found.push(path.relative(root, full));
      }
    };
    await walk(root);
    return found.sort();
  };
}
