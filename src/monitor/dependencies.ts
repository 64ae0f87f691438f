/**
 * Each backend this process needs, checked cheaply at start and again while running, so that
 * readiness, /healthz and the start-up banner say what is not working and how to fix it. With
 * unusable AWS credentials the API used to say "running" and /healthz "ok", and every upload
 * then failed. Checks: the database `select 1`; the queue's stats where this process watches the
 * queue (workers; an API-only role on SQS may not read queue attributes); the blob store a tiny
 * put and delete under `health/` (the API's role may put and delete but not list, so a read of a
 * missing key could not tell "no such key" from "no permission").
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { credentialProblem } from '../aws/errors.js';
import type { BlobStore } from '../blobs/port.js';
import type { Db } from '../db/connect.js';
import type { Logger } from '../log.js';
import type { JobQueue } from '../queue/port.js';

export type DependencyName = 'database' | 'queue' | 'blobs';

export interface DependencyStatus {
  readonly name: DependencyName;
  /** What it is, as configured: "PostgreSQL (DATABASE_URL)", "Amazon S3 bucket x (S3_BUCKET)". */
  readonly backend: string;
  readonly state: 'ok' | 'failing' | 'not_checked';
  /** When failing: what is wrong and how to fix it. When not checked: why. */
  readonly detail?: string;
  readonly checkedAt: string;
}

export interface DependencyTargets {
  readonly db: Db;
  /** Absent where this process does not watch the queue. */
  readonly queue: JobQueue | undefined;
  readonly blobs: BlobStore;
  /** How each backend is named to the operator, with the variables that configure it. */
  readonly backends: Readonly<Record<DependencyName, string>>;
  /** The database's own explanation of a failure (connect-errors.ts), where there is one. */
  readonly explainDatabase?: (error: unknown) => string | undefined;
  readonly log: Logger;
  /** How long each check may take (default 10 s). */
  readonly timeoutMs?: number;
}

/** Everything is re-checked this often; a failing part at every refresh until it recovers. */
const RECHECK_INTERVAL_MS = 60_000;
/** A backend silent for this long is failing: start-up and the monitor's tick wait no longer. */
const CHECK_TIMEOUT_MS = 10_000;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `no answer within ${ms / 1000} s: check that this machine can reach it (its endpoint, firewalls, security groups)`,
          ),
        ),
      ms,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export class DependencyChecks {
  private latest: DependencyStatus[] = [];
  private lastFullCheck = 0;
  /** The check in progress: overlapping ticks share it instead of starting another. */
  private running: Promise<readonly DependencyStatus[]> | undefined;
  /** One key per process, so a delete that fails leaves at most one object behind. */
  private readonly probeKey = `health/${randomUUID()}.txt`;

  private readonly timeoutMs: number;

  constructor(private readonly targets: DependencyTargets) {
    this.timeoutMs = targets.timeoutMs ?? CHECK_TIMEOUT_MS;
  }

  get statuses(): readonly DependencyStatus[] {
    return this.latest;
  }

  get failing(): readonly DependencyStatus[] {
    return this.latest.filter((s) => s.state === 'failing');
  }

  /** Checks every part now; logs each one that fails, and each recovery. */
  checkAll(): Promise<readonly DependencyStatus[]> {
    this.running ??= this.checkEach().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async checkEach(): Promise<readonly DependencyStatus[]> {
    const { backends } = this.targets;
    const now = () => new Date().toISOString();
    const run = async (name: DependencyName, check: () => Promise<unknown>) => {
      try {
        await withTimeout(check(), this.timeoutMs);
        return { name, backend: backends[name], state: 'ok', checkedAt: now() } as const;
      } catch (error) {
        return {
          name,
          backend: backends[name],
          state: 'failing',
          detail:
            (name === 'database' ? this.targets.explainDatabase?.(error) : undefined) ??
            explain(error, backends[name]),
          checkedAt: now(),
        } as const;
      }
    };
    const { db, queue, blobs } = this.targets;
    const results: DependencyStatus[] = await Promise.all([
      run('database', () => sql`select 1`.execute(db)),
      queue
        ? run('queue', () => queue.stats())
        : Promise.resolve({
            name: 'queue',
            backend: backends.queue,
            state: 'not_checked',
            detail:
              'an API-only process only sends jobs; the outbox_backlog alarm shows when sending fails',
            checkedAt: now(),
          } as const),
      run('blobs', async () => {
        // Aborted with the check, so a put that answers late stores nothing.
        await blobs.put(this.probeKey, 'churnline health check\n', {
          contentType: 'text/plain',
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        await blobs.delete(this.probeKey);
      }),
    ]);
    this.report(results);
    this.latest = results;
    this.lastFullCheck = Date.now();
    return results;
  }

  /** For the monitor's tick: checks again once a minute, or at once while something fails. */
  async refresh(): Promise<void> {
    if (this.failing.length > 0 || Date.now() - this.lastFullCheck >= RECHECK_INTERVAL_MS)
      await this.checkAll();
  }

  private report(results: readonly DependencyStatus[]): void {
    const before = new Map(this.latest.map((s) => [s.name, s.state]));
    for (const status of results) {
      const was = before.get(status.name);
      if (status.state === 'failing' && was !== 'failing')
        this.targets.log.error(
          { dependency: status.name },
          `${status.backend} is not working: ${status.detail}`,
        );
      if (status.state === 'ok' && was === 'failing')
        this.targets.log.info({ dependency: status.name }, `${status.backend} works again`);
    }
  }
}

/** One line: what failed, in the operator's terms; credentials named as such. */
function explain(error: unknown, backend: string): string {
  const service = backend.includes('S3') ? 'S3' : backend.includes('SQS') ? 'SQS' : undefined;
  const credentials = service ? credentialProblem(error, service) : undefined;
  if (credentials) return credentials;
  return error instanceof Error ? error.message : String(error);
}
