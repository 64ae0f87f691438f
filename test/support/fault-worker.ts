/**
 * `churnline worker` for the fault tests, run as a child process (see startFaultWorker): the app
 * is built from the environment exactly as the CLI builds it, through createApp's seams its
 * queue and its scoring threads' blob store carry the faults that FAULT_* variables choose
 * (test/support/faults.ts), and SIGTERM drains as in `churnline worker`. The process's own blob
 * store (an assembly joins the results there) carries the put failures, not the kill points.
 */

import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log.js';
import { faultPlanFromEnv, faultyBlobs, faultyQueue } from './faults.js';

const config = parseConfig(process.env);
const log = createLogger(config.logLevel);
const plan = faultPlanFromEnv();
const app = await createApp(config, log, ['worker'], {
  queue: (queue) => faultyQueue(queue, plan),
  blobs: (blobs) => faultyBlobs(blobs, { ...plan, killAt: undefined }),
  scoringThread: new URL('./fault-scoring-thread.ts', import.meta.url),
});
await app.start();
await new Promise((resolve) => process.once('SIGTERM', resolve));
await app.close();
