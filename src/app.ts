import type { FastifyInstance } from 'fastify';
import { authFailureToApiError } from './api/auth/errors.js';
import { createAuthVerifier } from './api/auth/verifier.js';
import { ModelCatalog } from './api/models/catalog.js';
import { Quotas } from './api/quotas.js';
import { RateLimiter } from './api/rate-limit.js';
import { buildServer } from './api/server.js';
import {
  ABANDONED_UPLOAD_SWEEP_INTERVAL_MS,
  removeAbandonedUploads,
} from './api/uploads/abandoned.js';
import { reportAwsSdkNodeSupport } from './aws/node-support.js';
import { requireAwsRegion } from './aws/region.js';
import { awsOptions, openBlobStore } from './blobs/open.js';
import type { BlobStore } from './blobs/port.js';
import { describeBackends } from './config/backends.js';
import type { Config } from './config/index.js';
import { type Db, openPostgresDatabase, openSqliteDatabase } from './db/connect.js';
import { explainPostgresFailure } from './db/connect-errors.js';
import { failDeadLetteredPredictions } from './jobs/dead-letter-reconciler.js';
import { createJobHandler } from './jobs/job-handler.js';
import type { SigningKeyring } from './jobs/message.js';
import { OutboxRelay } from './jobs/outbox-relay.js';
import { ScoringPool } from './jobs/scoring-pool.js';
import {
  loadOrCreateLocalSigningKeys,
  parseSigningKeys,
  type SigningKeysSummary,
  signingKeyFingerprint,
  summariseSigningKeys,
} from './jobs/signing-keys.js';
import { JobWorker } from './jobs/worker.js';
import type { Logger } from './log.js';
import { loadModel, type ModelFile, SHIPPED_MODELS } from './model/model-file.js';
import { Alarms, webhookNotifier } from './monitor/alarms.js';
import { DependencyChecks } from './monitor/dependencies.js';
import { Metrics } from './monitor/metrics.js';
import { Monitor } from './monitor/monitor.js';
import { type OnTightened, privateSqliteFile } from './private-files.js';
import type { JobQueue } from './queue/port.js';
import { checkPostgresQueue, checkQueueSettings } from './queue/startup-check.js';

export type Role = 'api' | 'worker';

/**
 * Where fault-injection tests reach in (test/support/fault-worker.ts); production passes none.
 * They decorate ports as built here, so the rest of the wiring is the real one.
 */
export interface AppSeams {
  /** Wraps the job queue that every role of this process uses. */
  readonly queue?: (queue: JobQueue) => JobQueue;
  /** Wraps the blob store that every role of this process uses. */
  readonly blobs?: (blobs: BlobStore) => BlobStore;
  /** The scoring threads' entry module instead of src/jobs/scoring-thread. */
  readonly scoringThread?: URL;
  /** How old an unfinished upload must be for the API's sweep to remove it (abandoned.ts). */
  readonly abandonedUploadAgeMs?: number;
}

/**
 * The composition root: builds the configured adapters once and wires them together.
 * Nothing else reads the environment; everything else receives what it needs from here.
 */
export interface App {
  readonly config: Config;
  readonly log: Logger;
  readonly db: Db;
  readonly queue: JobQueue;
  readonly blobs: BlobStore;
  readonly metrics: Metrics;
  readonly monitor: Monitor;
  readonly server: FastifyInstance | undefined;
  readonly worker: JobWorker | undefined;
  /** The signing key ids this process holds, to publish (never the secrets). */
  readonly signingKeys: SigningKeysSummary;
  /** Each backend's status, checked at start and while running (banner, /healthz, /readyz). */
  readonly dependencies: DependencyChecks;
  /** Starts the roles' background work (relay, worker, monitoring); the caller listens. */
  start(): Promise<void>;
  /** Stops receiving, drains running jobs within the configured deadline, closes everything. */
  close(): Promise<void>;
}

export async function createApp(
  config: Config,
  log: Logger,
  roles: readonly Role[] = ['api', 'worker'],
  seams: AppSeams = {},
): Promise<App> {
  makeEmbeddedFilesPrivate(config, log);
  if (config.blobs.kind === 's3' || config.queue.kind === 'sqs') reportAwsSdkNodeSupport(log);
  if (config.blobs.kind === 's3') await requireAwsRegion(config.blobs.aws.region, 'S3 (BLOBS=s3)');
  if (config.queue.kind === 'sqs')
    await requireAwsRegion(config.queue.aws.region, 'SQS (QUEUE=sqs)');
  const db = await openDatabase(config);
  const opened = await openQueue(config);
  if (config.queue.kind === 'postgres') {
    await checkPostgresQueue(opened, config.queue.url).catch(async (error: unknown) => {
      await opened.close();
      await db.destroy();
      throw error;
    });
  }
  // Only where workers run: an API-only role may lack the permission to read queue attributes.
  if (roles.includes('worker')) {
    await checkQueueSettings(opened, log).catch(async (error: unknown) => {
      await opened.close();
      await db.destroy();
      throw error;
    });
  }
  const queue = seams.queue ? seams.queue(opened) : opened;
  const openedBlobs = await openBlobStore(config);
  const blobs = seams.blobs ? seams.blobs(openedBlobs) : openedBlobs;
  const signingKeys = openSigningKeys(config);
  const metrics = new Metrics({ processMetrics: true });
  const keySummary = summariseSigningKeys(signingKeys);
  for (const kid of keySummary.verifies) {
    const key = signingKeys.all.get(kid);
    if (!key) continue;
    metrics.signingKeyInfo.set(
      { kid, fingerprint: signingKeyFingerprint(key), signs: String(kid === keySummary.signsWith) },
      1,
    );
  }
  const alarms = new Alarms(
    config.alarms,
    log.child({ component: 'alarms' }),
    config.alarms.webhookUrl ? webhookNotifier(config.alarms.webhookUrl) : undefined,
  );
  // The unwrapped adapters: a fault-injection seam must not count the checks' own calls.
  const dependencies = new DependencyChecks({
    db,
    queue: roles.includes('worker') ? opened : undefined,
    blobs: openedBlobs,
    backends: describeBackends(config),
    ...(config.database.kind === 'postgres'
      ? { explainDatabase: explainDatabaseWith(config.database.url) }
      : {}),
    log: log.child({ component: 'health' }),
  });
  await dependencies.checkAll();
  const monitor = new Monitor({
    db,
    queue: roles.includes('worker') ? queue : undefined,
    metrics,
    alarms,
    log,
    intervalMs: config.monitorIntervalSeconds * 1000,
    dependencies,
  });

  let server: FastifyInstance | undefined;
  let relay: OutboxRelay | undefined;
  if (roles.includes('api')) {
    relay = new OutboxRelay({ db, queue, log: log.child({ component: 'relay' }) });
    const verifier = await createAuthVerifier(
      config.auth.mode === 'jwks'
        ? config.auth
        : { mode: 'local', dataDir: config.dataDir, keyFile: config.auth.keyFile },
    );
    server = await buildServer({
      db,
      blobs,
      relay,
      signingKeys,
      authenticate: (header) =>
        verifier.verify(header).catch((error: unknown) => {
          throw authFailureToApiError(error) ?? error;
        }),
      models: new ModelCatalog(await shippedModels(), db, blobs),
      metrics,
      monitor,
      dependencies,
      log,
      uploadMaxBytes: config.uploads.maxBytes,
      scoreChunkBytes: config.scoring.chunkBytes,
      quotas: new Quotas(db, config.quotas),
      rateLimiter: new RateLimiter(),
      webhookTargets: config.webhooks,
    });
  }

  let worker: JobWorker | undefined;
  let scorer: ScoringPool | undefined;
  if (roles.includes('worker')) {
    scorer = new ScoringPool({
      size: config.worker.concurrency,
      config,
      log,
      ...(seams.scoringThread ? { threadModule: seams.scoringThread } : {}),
    });
    worker = new JobWorker({
      queue,
      log: log.child({ component: 'worker' }),
      concurrency: config.worker.concurrency,
      handler: createJobHandler({
        db,
        blobs,
        scorer,
        signingKeys,
        metrics,
        log: log.child({ component: 'worker' }),
        alarms,
        webhookTargets: config.webhooks,
        ...(relay ? { relay } : {}),
      }),
    });
  }

  let reconcileTimer: NodeJS.Timeout | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  let sweeping: Promise<unknown> | undefined;
  const sweepAbandonedUploads = () => {
    // One at a time: a sweep slower than the interval is not started twice.
    sweeping ??= removeAbandonedUploads({
      db,
      blobs,
      log: log.child({ component: 'uploads' }),
      ...(seams.abandonedUploadAgeMs === undefined ? {} : { ageMs: seams.abandonedUploadAgeMs }),
    })
      .catch((error: unknown) => {
        log.warn({ err: error }, 'could not remove abandoned uploads; trying again later');
      })
      .finally(() => {
        sweeping = undefined;
      });
  };
  return {
    config,
    log,
    db,
    queue,
    blobs,
    metrics,
    monitor,
    server,
    worker,
    signingKeys: keySummary,
    dependencies,
    async start() {
      await monitor.start();
      relay?.start();
      worker?.start();
      // Where uploads are taken, their abandoned leftovers are removed (API-only processes too).
      if (server) {
        sweepAbandonedUploads();
        sweepTimer = setInterval(sweepAbandonedUploads, ABANDONED_UPLOAD_SWEEP_INTERVAL_MS);
        sweepTimer.unref();
      }
      if (worker) {
        const reconcile = () =>
          failDeadLetteredPredictions({ queue, db, blobs, signingKeys, log }).catch(
            (error: unknown) => {
              log.warn(
                { err: error },
                'could not check the dead-letter queue for unfinished predictions',
              );
            },
          );
        void reconcile();
        reconcileTimer = setInterval(reconcile, config.monitorIntervalSeconds * 1000);
        reconcileTimer.unref();
      }
    },
    async close() {
      clearInterval(reconcileTimer);
      clearInterval(sweepTimer);
      await sweeping;
      if (worker) {
        const drained = await worker.stop(config.worker.shutdownDeadlineSeconds * 1000);
        if (!drained.finished)
          log.warn({ released: drained.released }, 'released unfinished jobs for another worker');
      }
      if (server) {
        await server.close();
        const settled = await server.runningHandlers.settled(
          config.worker.shutdownDeadlineSeconds * 1000,
        );
        if (!settled) {
          log.warn(
            { running: server.runningHandlers.count },
            'closing with requests still running; their clients had already gone',
          );
        }
      }
      await relay?.stop();
      monitor.stop();
      await scorer?.close();
      await queue.close();
      blobs.close?.();
      await db.destroy();
    },
  };
}

/**
 * The embedded databases (and the folder holding them) owner-only before they are opened; any
 * found readable by others is tightened, and said so.
 */
function makeEmbeddedFilesPrivate(config: Config, log: Logger): void {
  const report: OnTightened = (file, from, to) =>
    log.warn(
      { path: file, from: from.toString(8), to: to.toString(8) },
      'tightened the permissions of a data file others could read',
    );
  for (const store of [config.database, config.queue]) {
    if (store.kind === 'sqlite') privateSqliteFile(store.file, report);
  }
}

export async function openDatabase(config: Config): Promise<Db> {
  const database = config.database;
  return database.kind === 'postgres'
    ? openPostgresDatabase(database.url, { poolSize: database.poolSize })
    : openSqliteDatabase(database.file);
}

/** The configured queue; each adapter's SDK or driver is imported only when it is in use. */
export async function openQueue(config: Config): Promise<JobQueue> {
  const { name, settings, pollIntervalMs } = config.queue;
  const queue = config.queue;
  switch (queue.kind) {
    case 'sqlite': {
      const { SqliteJobQueue } = await import('./queue/sqlite.js');
      return new SqliteJobQueue({ file: queue.file, name, settings, pollIntervalMs });
    }
    case 'postgres': {
      const { PostgresJobQueue } = await import('./queue/postgres.js');
      return new PostgresJobQueue({ connectionString: queue.url, name, settings, pollIntervalMs });
    }
    case 'sqs': {
      const { SqsJobQueue } = await import('./queue/sqs.js');
      const oldestAge = queue.oldestAge;
      return new SqsJobQueue({
        queueUrl: queue.queueUrl,
        deadLetterQueueUrl: queue.deadLetterQueueUrl,
        name,
        settings,
        ...awsOptions(queue.aws),
        ...(oldestAge.kind === 'cloudwatch'
          ? {
              oldestMessageAge: (
                await import('./queue/cloudwatch-oldest-age.js')
              ).cloudWatchOldestAge(awsOptions(oldestAge.aws)),
            }
          : {}),
      });
    }
  }
}

function explainDatabaseWith(url: string) {
  return (error: unknown) => explainPostgresFailure(error, url)?.message;
}

function openSigningKeys(config: Config): SigningKeyring {
  return config.jobSigningKeys
    ? parseSigningKeys(config.jobSigningKeys)
    : loadOrCreateLocalSigningKeys(config.dataDir);
}

/** The models that ship with Churnline, loaded once. */
async function shippedModels(): Promise<Map<string, ModelFile>> {
  const files = new Map<string, ModelFile>();
  for (const id of SHIPPED_MODELS) files.set(id, await loadModel(id));
  return files;
}
