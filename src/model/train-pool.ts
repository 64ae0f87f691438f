/**
 * Runs training tasks (cv-task.ts) on worker threads that share the dataset's memory (its columns
 * live in SharedArrayBuffers, so starting a thread copies none of the rows), or in this thread
 * when one thread is asked for. Tasks go to whichever thread is free, in the order given.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { siblingModule, startModuleWorker } from '../threads.js';
import {
  type CalibrateTask,
  type CvTask,
  type FitTask,
  type FoldTask,
  type PreparedCv,
  prepareCv,
  runCalibrate,
  runFit,
  runFold,
  runScreen,
  type ScreenTask,
  type TrainRunner,
} from './cv-task.js';
import type { LabelledDataset } from './dataset.js';

type Result = PreparedCv | Float64Array | number;
type Reply = { id: number; result: Result } | { id: number; error: string };
export type TrainMessage =
  | { prepare: CvTask }
  | { fold: FoldTask }
  | { calibrate: CalibrateTask }
  | { fit: FitTask }
  | { screen: ScreenTask };

export interface TrainPool extends TrainRunner {
  close(): Promise<void>;
}

/** Threads training uses by default: every core, up to two (what the machines here have). */
export function defaultTrainThreads(): number {
  return Math.min(2, availableParallelism());
}

export function createTrainPool(dataset: LabelledDataset, threads: number): TrainPool {
  if (threads <= 1) {
    return {
      prepare: async (task) => prepareCv(dataset, task),
      fold: async (task) => runFold(task),
      calibrate: async (task) => runCalibrate(task),
      fit: async (task) => runFit(dataset, task),
      screen: async (task) => runScreen(dataset, task),
      close: async () => {},
    };
  }
  const module = siblingModule(import.meta.url, 'train-worker');
  const idle: Worker[] = [];
  const waiting: Array<(worker: Worker) => void> = [];
  const pending = new Map<number, { resolve(result: Result): void; reject(error: Error): void }>();
  let nextId = 0;
  const workers = Array.from({ length: threads }, () => {
    const worker = startModuleWorker(module, { workerData: { dataset } });
    worker.on('message', (reply: Reply) => {
      const entry = pending.get(reply.id);
      pending.delete(reply.id);
      if ('error' in reply) entry?.reject(new Error(reply.error));
      else entry?.resolve(reply.result);
      const next = waiting.shift();
      if (next) next(worker);
      else idle.push(worker);
    });
    worker.on('error', (error) => {
      for (const entry of pending.values()) entry.reject(error);
      pending.clear();
    });
    idle.push(worker);
    return worker;
  });
  // Posted at once when a thread is free (the caller may go on with work of its own), else
  // when one becomes free, in the order asked.
  const send = (message: TrainMessage) =>
    new Promise<Result>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      const post = (worker: Worker) => worker.postMessage({ id, ...message });
      const worker = idle.pop();
      if (worker) post(worker);
      else waiting.push(post);
    });
  return {
    prepare: async (prepare) => (await send({ prepare })) as PreparedCv,
    fold: async (fold) => (await send({ fold })) as Float64Array,
    calibrate: async (calibrate) => (await send({ calibrate })) as Float64Array,
    fit: async (fit) => (await send({ fit })) as Float64Array,
    screen: async (screen) => (await send({ screen })) as number,
    async close() {
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
}
