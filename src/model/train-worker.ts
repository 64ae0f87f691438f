/** A training thread: runs the tasks of train-pool.ts on the dataset it was started with. */
import { parentPort, workerData } from 'node:worker_threads';
import { runCv, runFit, runScreen } from './cv-task.js';
import type { LabelledDataset } from './dataset.js';
import type { TrainMessage } from './train-pool.js';

const dataset = (workerData as { dataset: LabelledDataset }).dataset;
const port = parentPort;
port?.on('message', (message: TrainMessage & { id: number }) => {
  const { id } = message;
  try {
    if ('fit' in message) {
      const beta = runFit(dataset, message.fit);
      port.postMessage({ id, result: beta }, [beta.buffer as ArrayBuffer]);
    } else if ('screen' in message) {
      port.postMessage({ id, result: runScreen(dataset, message.screen) });
    } else {
      const result = runCv(dataset, message.task);
      const buffers = [result.logits, result.probabilities, result.labels].map(
        (array) => array.buffer as ArrayBuffer,
      );
      port.postMessage({ id, result }, buffers);
    }
  } catch (error) {
    port.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
