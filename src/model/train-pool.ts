/**
 * Runs cross-validation and fit tasks on worker threads that share the dataset's memory (its columns live
 * in SharedArrayBuffers, so starting a thread copies none of the rows), or in this thread when
 * one thread is asked for.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { siblingModule, startModuleWorker } from '../threads.js';
import {
  type CvResult,
  type CvTask,
  type FitTask,
  runCv,
  runFit,
  runScreen,
  type ScreenTask,
} from './cv-task.js';
import type { LabelledDataset } from './dataset.js';

type Result = CvResult | Float64Array | number;
type Reply = { id: number; result: Result } | { id: number; error: string };
export type TrainMessage = { task: CvTask } | { fit: FitTask } | { screen: ScreenTask };

export interface TrainPool {
  run(task: CvTask): Promise<CvResult>;
  /** The coefficients (intercept first) of a fit on every row of a design. */
  fit(task: FitTask): Promise<Float64Array>;
  /** A candidate plan's estimated in-sample gain per row. */
  screen(task: ScreenTask): Promise<number>;
  close(): Promise<void>;
}

/** Threads training uses by default: every core, up to two (what the machines here have). */
export function defaultTrainThreads(): number {
  return Math.min(2, availableParallelism());
}

export function createTrainPool(dataset: LabelledDataset, threads: number): TrainPool {
  if (threads <= 1) {
    return {
      run: async (task) => runCv(dataset, task),
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
  const acquire = () =>
    new Promise<Worker>((resolve) => {
      const worker = idle.pop();
      if (worker) resolve(worker);
      else waiting.push(resolve);
    });
  const send = async (message: TrainMessage) => {
    const worker = await acquire();
    const id = nextId++;
    return new Promise<Result>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, ...message });
    });
  };
  return {
    run: async (task) => (await send({ task })) as CvResult,
    fit: async (fit) => (await send({ fit })) as Float64Array,
    screen: async (screen) => (await send({ screen })) as number,
    async close() {
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
}
