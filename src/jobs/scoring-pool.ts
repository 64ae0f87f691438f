import type { Worker } from 'node:worker_threads';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { ChunkCounts } from '../model/tally-json.js';
import { siblingModule, startModuleWorker } from '../threads.js';
import { PermanentJobError } from './errors.js';
import type {
  AssembleTask,
  ChunkTask,
  FromThread,
  ScoredResults,
  ScoringProgress,
  SerialisedError,
  TaskScoring,
  ToThread,
  TrainedModel,
  TrainingProgress,
  TrainSettings,
} from './scoring-protocol.js';
import { serialiseError } from './scoring-protocol.js';

export interface ScoreTask {
  readonly modelId: string;
  readonly inputKey: string;
  readonly resultKey: string;
  /** How to read the file: as-of time, the user's column choices. */
  readonly scoring: TaskScoring;
  /** A model the user trained: its file (a shipped model is found by its id). */
  readonly modelKey?: string;
  /** The previous prediction's rows index with the same model, to compare customers with. */
  readonly previousIndexKey?: string;
  readonly signal?: AbortSignal;
  /** Rows scored so far, reported as the thread goes (a few times a second at most). */
  readonly onProgress?: (progress: ScoringProgress) => void;
}

/** One chunk of a prediction scored in chunks (src/jobs/chunks.ts). */
export interface ScoreChunkTask extends ChunkTask {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ScoringProgress) => void;
}

export interface TrainTask {
  readonly inputKey: string;
  readonly modelKey: string;
  readonly training: TrainSettings;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: TrainingProgress) => void;
}

/**
 * Scores one upload into its results object, or trains a model on one: what the job handlers
 * need, run off their event loop.
 */
export interface Scorer {
  score(task: ScoreTask): Promise<ScoredResults>;
  /** Scores one chunk into its part; returns its counts. */
  scoreChunk(task: ScoreChunkTask): Promise<ChunkCounts>;
  /** Joins a prediction's scored chunks into its results and rows index, with the summary. */
  assemble(task: AssembleTask & { readonly signal?: AbortSignal }): Promise<ScoredResults>;
  train(task: TrainTask): Promise<TrainedModel>;
  close(): Promise<void>;
}

const defaultThreadUrl = siblingModule(import.meta.url, 'scoring-thread');

function startThread(config: Config, threadUrl: URL): Worker {
  return startModuleWorker(threadUrl, { workerData: { config } });
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: unknown): void;
  kind: ThreadTask['type'];
  onProgress?: ((progress: TrainingProgress | ScoringProgress) => void) | undefined;
}

type ThreadTask = Exclude<ToThread, { type: 'abort' }>;
type WithoutTaskId<T> = T extends unknown ? Omit<T, 'taskId'> : never;

interface Thread {
  worker: Worker;
  busy: boolean;
  /** The task it runs now, so a crash fails that task and no other. */
  taskId?: number;
}

/**
 * A fixed number of scoring threads, one task each at a time, so CSV parsing and scoring never
 * block the event loop that answers HTTP and heartbeats. A thread that dies is replaced; its
 * task fails as transient, so the queue redelivers the job.
 */
export class ScoringPool implements Scorer {
  private readonly threads: Thread[] = [];
  private readonly waiting: Array<() => void> = [];
  private readonly pending = new Map<number, Pending>();
  private nextTaskId = 1;
  private closed = false;

  constructor(
    private readonly options: {
      size: number;
      config: Config;
      log: Logger;
      /** The thread's entry module; tests substitute one that injects storage faults. */
      threadModule?: URL;
    },
  ) {}

  score(task: ScoreTask): Promise<ScoredResults> {
    return this.run<ScoredResults>(
      {
        type: 'score',
        modelId: task.modelId,
        inputKey: task.inputKey,
        resultKey: task.resultKey,
        scoring: task.scoring,
        ...(task.modelKey ? { modelKey: task.modelKey } : {}),
        ...(task.previousIndexKey ? { previousIndexKey: task.previousIndexKey } : {}),
      },
      task.signal,
      task.onProgress && forStage('scoring', task.onProgress),
    );
  }

  scoreChunk(task: ScoreChunkTask): Promise<ChunkCounts> {
    const { signal, onProgress, ...chunk } = task;
    return this.run<ChunkCounts>(
      { type: 'score-chunk', ...chunk },
      signal,
      onProgress && forStage('scoring', onProgress),
    );
  }

  assemble(task: AssembleTask & { readonly signal?: AbortSignal }): Promise<ScoredResults> {
    const { signal, ...assembly } = task;
    return this.run<ScoredResults>({ type: 'assemble', ...assembly }, signal);
  }

  train(task: TrainTask): Promise<TrainedModel> {
    return this.run<TrainedModel>(
      { type: 'train', inputKey: task.inputKey, modelKey: task.modelKey, training: task.training },
      task.signal,
      task.onProgress && forStage('training', task.onProgress),
    );
  }

  private async run<T>(
    message: WithoutTaskId<ThreadTask>,
    signal?: AbortSignal,
    onProgress?: (progress: TrainingProgress | ScoringProgress) => void,
  ): Promise<T> {
    const thread = await this.acquire();
    const taskId = this.nextTaskId++;
    const onAbort = () => thread.worker.postMessage({ type: 'abort', taskId } satisfies ToThread);
    signal?.addEventListener('abort', onAbort, { once: true });
    thread.taskId = taskId;
    try {
      return await new Promise<T>((resolve, reject) => {
        this.pending.set(taskId, {
          resolve: resolve as (result: unknown) => void,
          reject,
          kind: message.type,
          onProgress,
        });
        thread.worker.postMessage({ ...message, taskId } as ToThread);
      });
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.pending.delete(taskId);
      this.release(thread);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.splice(0).map((t) => t.worker.terminate()));
  }

  private async acquire(): Promise<Thread> {
    for (;;) {
      if (this.closed) throw new Error('the scoring pool is closed');
      const idle = this.threads.find((t) => !t.busy);
      if (idle) {
        idle.busy = true;
        return idle;
      }
      if (this.threads.length < this.options.size) {
        const thread = this.spawn();
        thread.busy = true;
        return thread;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private release(thread: Thread): void {
    thread.busy = false;
    thread.taskId = undefined;
    this.waiting.shift()?.();
  }

  private spawn(): Thread {
    const worker = startThread(this.options.config, this.options.threadModule ?? defaultThreadUrl);
    const thread: Thread = { worker, busy: false };
    this.threads.push(thread);
    worker.on('message', (message: FromThread) => {
      const pending = this.pending.get(message.taskId);
      if (!pending) return;
      if (message.type === 'progress') pending.onProgress?.(message.progress);
      else if (message.type === 'done') pending.resolve(message.scored);
      else if (message.type === 'trained') pending.resolve(message.model);
      else if (message.type === 'chunk-scored') pending.resolve(message.counts);
      else pending.reject(toJobError(message.error, pending.kind));
    });
    worker.on('error', (error) =>
      this.options.log.error({ err: error }, 'a scoring thread crashed'),
    );
    worker.on('exit', (code) => {
      const index = this.threads.indexOf(thread);
      if (index >= 0) this.threads.splice(index, 1);
      if (this.closed) return;
      this.options.log.warn({ code }, 'a scoring thread exited; its job will be retried');
      if (thread.taskId !== undefined) {
        this.pending
          .get(thread.taskId)
          ?.reject(new Error(`scoring thread exited with code ${code}`));
      }
      this.waiting.shift()?.();
    });
    return thread;
  }
}

/**
 * An error of the worker's own storage work beside a thread's (joining an assembly's results),
 * judged as the same error from a scoring thread would be.
 */
export function asJobError(error: unknown, kind: ThreadTask['type']): Error {
  if (error instanceof PermanentJobError) return error;
  return toJobError(serialiseError(error), kind);
}

/** Errors the user can fix fail the prediction or model now; the rest are left for redelivery. */
function toJobError(error: SerialisedError, kind: ThreadTask['type']): Error {
  if (error.name === 'CsvInputError') {
    return new PermanentJobError(
      'invalid_csv',
      `The file could not be ${kind === 'train' ? 'trained on' : 'scored'}: ${error.message}`,
    );
  }
  if (error.name === 'BlobError' && error.code === 'not_found' && error.operation === 'model') {
    return new PermanentJobError(
      'model_missing',
      'The model was deleted. Choose another model and create the prediction again.',
    );
  }
  if (error.name === 'BlobError' && error.code === 'not_found') {
    return new PermanentJobError(
      'upload_missing',
      'The uploaded file is no longer stored. Upload it again.',
    );
  }
  // Refused for a reason retrying cannot change: a key, metadata or size the store rejects.
  // Permissions are not among them: an IAM change still propagating or a rotated credential is
  // fixed by the operator while the job waits for its next delivery.
  if (
    error.name === 'BlobError' &&
    error.retryable === false &&
    error.code !== 'permission_denied'
  ) {
    return new PermanentJobError(
      'storage_refused',
      error.operation === 'read'
        ? 'Churnline could not read the uploaded file because of a storage problem on our side. Upload it again; if it keeps failing, contact support.'
        : 'Churnline could not store the results because of a storage problem on our side. Create the prediction again later; if it keeps failing, contact support.',
    );
  }
  // Training is deterministic: an error of its own (not storage's) comes back on every attempt,
  // so it ends the model now instead of after three long runs.
  if (kind === 'train' && error.name !== 'BlobError' && error.name !== 'AbortError') {
    return new PermanentJobError(
      'training_failed',
      `No model could be fitted to this file: ${error.message}. Check the label and the columns it reads, or contact support with this message.`,
    );
  }
  const transient = new Error(error.message);
  transient.name = error.name;
  return transient;
}

/** Passes on only the progress of the task's own kind. */
function forStage<P extends TrainingProgress | ScoringProgress>(
  kind: 'scoring' | 'training',
  report: (progress: P) => void,
): (progress: TrainingProgress | ScoringProgress) => void {
  return (progress) => {
    if ((progress.stage === 'scoring') === (kind === 'scoring')) report(progress as P);
  };
}
