/** A training thread: runs cross-validation tasks on the dataset it was started with. */
import { parentPort, workerData } from 'node:worker_threads';
import { type CvTask, runCv } from './cv-task.js';
import type { LabelledDataset } from './dataset.js';

const dataset = (workerData as { dataset: LabelledDataset }).dataset;
const port = parentPort;
port?.on('message', ({ id, task }: { id: number; task: CvTask }) => {
  try {
    const result = runCv(dataset, task);
    const buffers = [result.logits, result.probabilities, result.labels].map(
      (array) => array.buffer as ArrayBuffer,
    );
    port.postMessage({ id, result }, buffers);
  } catch (error) {
    port.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
