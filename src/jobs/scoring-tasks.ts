/**
 * What a scoring thread does: reads the upload from the blob store, scores it, and writes the
 * results CSV back, all off the main event loop. The blob store is the thread's own, built from
 * the same Config as in the main thread, so no bytes cross between threads, only the task and
 * its summary.
 */

import { PassThrough, Readable } from 'node:stream';
import type { MessagePort } from 'node:worker_threads';
import type { BlobStore } from '../blobs/port.js';
import { rowsIndexKeyOfResult } from '../ids.js';
import { readLabelledDataset } from '../model/dataset.js';
import { loadModel, type ModelFile, serialiseModel } from '../model/model-file.js';
import { scoreCsvStream } from '../model/score-stream.js';
import { trainModel } from '../model/train.js';
import { decodeRowsIndex, type RowsIndex } from '../results/rows-index.js';
import { RowsIndexBuilder } from '../results/rows-index-builder.js';
import { readBlob } from '../results/rows-index-cache.js';
import { ModelFiles } from './model-files.js';
import { runThreadAsBatchWork } from './priority.js';
import { throttled } from './progress.js';
import {
  type FromThread,
  serialiseError,
  type ToThread,
  type TrainingProgress,
  tagOperation,
} from './scoring-protocol.js';

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

  async function score(task: Extract<ToThread, { type: 'score' }>): Promise<FromThread> {
    const abort = new AbortController();
    running.set(task.taskId, abort);
    try {
      const scoringModel = await model(task.modelId, task.modelKey);
      const input = await tagOperation('read', blobs.get(task.inputKey));
      abort.signal.addEventListener(
        'abort',
        () => input.destroy(new Error('scoring was aborted')),
        { once: true },
      );
      const output = new PassThrough();
      const stored = tagOperation(
        'write',
        blobs.put(task.resultKey, output, { contentType: 'text/csv', signal: abort.signal }),
      );
      // The put can fail while scoring still runs (a full disk). Its rejection must not count as
      // unhandled meanwhile (that ends the whole thread), and it must end the scoring, which
      // would otherwise wait for ever to write to a body that nobody reads any more.
      const storeFailed = stored.then(() => new Promise<never>(() => {}));
      storeFailed.catch(() => {});
      try {
        const rows = new RowsIndexBuilder();
        const previous = task.previousIndexKey
          ? await previousIndex(blobs, task.previousIndexKey)
          : undefined;
        const summary = await Promise.race([
          scoreCsvStream(input, output, scoringModel, {
            ...task.scoring,
            rows,
            onProgress: throttled(
              ({ rows: scored }) =>
                port.postMessage({
                  type: 'progress',
                  taskId: task.taskId,
                  progress: { stage: 'scoring', rows: scored },
                } satisfies FromThread),
              THREAD_PROGRESS_INTERVAL_MS,
            ),
          }),
          storeFailed,
        ]);
        output.end();
        const results = await stored;
        // Built while the results were written; stored second, so a prediction completes only
        // once both are in place.
        const index = await tagOperation(
          'write',
          blobs.put(rowsIndexKeyOfResult(task.resultKey), rows.finish(previous), {
            contentType: 'application/octet-stream',
            signal: abort.signal,
          }),
        );
        const history = rows.history();
        const scored = {
          summary,
          changes: rows.changes,
          history,
          historyMs: rows.historyMs,
          storedBytes: results.bytes + index.bytes,
        };
        return { type: 'done', taskId: task.taskId, scored };
      } catch (error) {
        input.destroy();
        output.destroy(error instanceof Error ? error : new Error(String(error)));
        // A failed put destroys its body, and scoring then fails writing to it: the put's error is
        // the cause (a bad CSV comes back from the put as itself: the body's own error).
        const storeError = await stored.then(
          () => undefined,
          (reason: unknown) => reason,
        );
        throw storeError ?? error;
      }
    } catch (error) {
      return { type: 'failed', taskId: task.taskId, error: serialiseError(error) };
    } finally {
      running.delete(task.taskId);
    }
  }

  async function train(task: Extract<ToThread, { type: 'train' }>): Promise<FromThread> {
    const abort = new AbortController();
    running.set(task.taskId, abort);
    try {
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
      abort.signal.throwIfAborted();
      const trained = await trainModel(dataset, {
        name: settings.name,
        onStep: report,
        ...(settings.tiers ? { tiers: settings.tiers } : {}),
      });
      abort.signal.throwIfAborted();
      await tagOperation(
        'write',
        blobs.put(task.modelKey, Readable.from([serialiseModel(trained)]), {
          contentType: 'application/json',
          signal: abort.signal,
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
    } catch (error) {
      return { type: 'failed', taskId: task.taskId, error: serialiseError(error) };
    } finally {
      running.delete(task.taskId);
    }
  }

  port.on('message', (message: ToThread) => {
    if (message.type === 'abort') {
      running.get(message.taskId)?.abort();
      return;
    }
    const work = message.type === 'train' ? train(message) : score(message);
    void work.then((reply) => port.postMessage(reply));
  });
}
