/** A training thread: runs the tasks of train-pool.ts on the dataset it was started with. */
import { parentPort, workerData } from 'node:worker_threads';
import { prepareCv, runCalibrate, runFit, runFold, runScreen } from './cv-task.js';
import type { LabelledDataset } from './dataset.js';
import type { TrainMessage } from './train-pool.js';

const dataset = (workerData as { dataset: LabelledDataset }).dataset;
const port = parentPort;
port?.on('message', (message: TrainMessage & { id: number }) => {
  const { id } = message;
  try {
    if ('prepare' in message) {
      const prepared = prepareCv(dataset, message.prepare);
      const buffers = prepared.start.hessians.map((hessian) => hessian.buffer as ArrayBuffer);
      port.postMessage({ id, result: prepared }, buffers);
    } else if ('fold' in message) {
      const logits = runFold(message.fold);
      port.postMessage({ id, result: logits }, [logits.buffer as ArrayBuffer]);
    } else if ('calibrate' in message) {
      const probabilities = runCalibrate(message.calibrate);
      port.postMessage({ id, result: probabilities }, [probabilities.buffer as ArrayBuffer]);
    } else if ('fit' in message) {
      const beta = runFit(dataset, message.fit);
      port.postMessage({ id, result: beta }, [beta.buffer as ArrayBuffer]);
    } else {
      port.postMessage({ id, result: runScreen(dataset, message.screen) });
    }
  } catch (error) {
    port.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
