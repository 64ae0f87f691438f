/**
 * What a scoring thread does: reads the upload from the blob store, scores it, and writes the
 * results CSV back, all off the main event loop (a chunk of a large upload, and its share of the
 * assembly, in chunk-tasks.ts); it also trains models. The blob store is the thread's own, built
 * from the same Config as in the main thread, so no bytes cross between threads, only the task
 * and its summary.
 */

import { Readable } from 'node:stream';
import type { MessagePort } from 'node:worker_threads';
import type { BlobStore } from '../blobs/port.js';
import { readLabelledDataset } from '../model/dataset.js';
import { loadModel, type ModelFile, serialiseModel } from '../model/model-file.js';
import { scoreCsvStream } from '../model/score-stream.js';
import { trainModel } from '../model/train.js';
import { decodeRowsIndex, type RowsIndex } from '../results/rows-index.js';
import { RowsIndexBuilder } from '../results/rows-index-builder.js';
import { readBlob } from '../results/rows-index-cache.js';
import { assembleChunks, scoreChunk } from './chunk-tasks.js';
import { ModelFiles } from './model-files.js';
import { runThreadAsBatchWork } from './priority.js';
import { throttled } from './progress.js';
import {
  type FromThread,
  type ScoredResults,
  serialiseError,
  type ToThread,
  type TrainingProgress,
  tagOperation,
} from './scoring-protocol.js';
import { storeRowsIndex, storeWhileWriting } from './stored-output.js';

/**
 * The previous prediction's rows index. Comparing is an extra: one that cannot be read (deleted
 * meanwhile, damaged, from a future version) leaves the customers uncompared, not the job failed.
 */
async function previousIndex(blobs: BlobStore, key: string): Promise<RowsIndex | undefined> {
  try {
    return decodeRowsIndex(await readBlob(blobs, key));
  } catch {
    return undefined;
  }
}

/** How often a scoring thread reports its rows: often enough for the job's once-a-second write. */
const THREAD_PROGRESS_INTERVAL_MS = 250;

/** Answers the pool's score and abort messages on `port`, reading and writing through `blobs`. */
export function serveScoringTasks(port: MessagePort, blobs: BlobStore): void {
  // Elsewhere than Linux it would lower the whole process, the API's thread included.
  if (process.platform === 'linux') runThreadAsBatchWork();
  const models = new Map<string, Promise<ModelFile>>();
  const running = new Map<number, AbortController>();

  const trained = new ModelFiles(blobs);

  /** A shipped model by id (few, kept), or a user's by its file (see ModelFiles). */
  function model(id: string, key: string | undefined): Promise<ModelFile> {
    if (key !== undefined) return trained.get(key);
    let loaded = models.get(id);
    if (!loaded) {
      loaded = loadModel(id);
      loaded.catch(() => models.delete(id));
      models.set(id, loaded);
    }
    return loaded;
  }

  async function score(
    task: Extract<ToThread, { type: 'score' }>,
    signal: AbortSignal,
  ): Promise<FromThread> {
    const scoringModel = await model(task.modelId, task.modelKey);
    const input = await tagOperation('read', blobs.get(task.inputKey));
    signal.addEventListener('abort', () => input.destroy(new Error('scoring was aborted')), {
      once: true,
    });
    const rows = new RowsIndexBuilder();
    const previous = task.previousIndexKey
      ? await previousIndex(blobs, task.previousIndexKey)
      : undefined;
    const { result: summary, stored: results } = await storeWhileWriting(
      blobs,
      task.resultKey,
      input,
      signal,
      (output) =>
        scoreCsvStream(input, output, scoringModel, {
          ...task.scoring,
          rows,
          onProgress: reportRows(port, task.taskId),
        }),
    );
    // Built while the results were written; stored second, so a prediction completes only
    // once both are in place.
    const index = await storeRowsIndex(blobs, task.resultKey, rows, previous, signal);
    const scored: ScoredResults = {
      summary,
      changes: rows.changes,
      history: rows.history(),
      historyMs: rows.historyMs,
      storedBytes: results.bytes + index.bytes,
    };
    return { type: 'done', taskId: task.taskId, scored };
  }

  async function train(
    task: Extract<ToThread, { type: 'train' }>,
    signal: AbortSignal,
  ): Promise<FromThread> {
    const settings = task.training;
    const report = (progress: TrainingProgress) =>
      port.postMessage({ type: 'progress', taskId: task.taskId, progress } satisfies FromThread);
    report({ stage: 'reading the file', done: 0, total: 1 });
    // Read twice, streamed (see dataset.ts): memory follows the columns, not the file.
    const source = () =>
      (async function* () {
        yield* await tagOperation('read', blobs.get(task.inputKey));
      })();
    const dataset = await readLabelledDataset(source, {
      labelColumn: settings.labelColumn,
      asOfDays: settings.asOfDays,
      ...(settings.positiveValue === undefined ? {} : { positiveValue: settings.positiveValue }),
    });
    signal.throwIfAborted();
    const trained = await trainModel(dataset, {
      name: settings.name,
      onStep: report,
      ...(settings.tiers ? { tiers: settings.tiers } : {}),
    });
    signal.throwIfAborted();
    await tagOperation(
      'write',
      blobs.put(task.modelKey, Readable.from([serialiseModel(trained)]), {
        contentType: 'application/json',
        signal,
      }),
    );
    const cv = trained.training.crossValidation.mean;
    return {
      type: 'trained',
      taskId: task.taskId,
      model: {
        rows: trained.training.rows,
        positives: trained.training.positives,
        columns: trained.columns.map((column) => column.name),
        metrics: { rocAuc: cv.rocAuc, prAuc: cv.prAuc, brier: cv.brier, logLoss: cv.logLoss },
      },
    };
  }

  async function run(task: Exclude<ToThread, { type: 'abort' }>): Promise<FromThread> {
    const abort = new AbortController();
    running.set(task.taskId, abort);
    const { signal } = abort;
    try {
      switch (task.type) {
        case 'score':
          return await score(task, signal);
        case 'train':
          return await train(task, signal);
        case 'score-chunk': {
          const scoringModel = await model(task.modelId, task.modelKey);
          const report = reportRows(port, task.taskId);
          const counts = await scoreChunk(blobs, scoringModel, task, signal, report);
          return { type: 'chunk-scored', taskId: task.taskId, counts };
        }
        case 'assemble': {
          const previous = task.previousIndexKey
            ? await previousIndex(blobs, task.previousIndexKey)
            : undefined;
          const scored = await assembleChunks(blobs, task, previous, signal);
          return { type: 'done', taskId: task.taskId, scored };
        }
      }
    } catch (error) {
      return { type: 'failed', taskId: task.taskId, error: serialiseError(error) };
    } finally {
      running.delete(task.taskId);
    }
  }

  port.on('message', (message: ToThread) => {
    if (message.type === 'abort') running.get(message.taskId)?.abort();
    else void run(message).then((reply) => port.postMessage(reply));
  });
}

/** Reports rows scored to the pool, a few times a second at most. */
function reportRows(port: MessagePort, taskId: number): (progress: { rows: number }) => void {
  return throttled(
    ({ rows }) =>
      port.postMessage({
        type: 'progress',
        taskId,
        progress: { stage: 'scoring', rows },
      } satisfies FromThread),
    THREAD_PROGRESS_INTERVAL_MS,
  );
}
