/** The scoring thread of fault-worker.ts: the real task loop on a blob store with the plan's faults. */
import { parentPort, workerData } from 'node:worker_threads';
import { openBlobStore } from '../../src/blobs/open.js';
import type { Config } from '../../src/config/index.js';
import { serveScoringTasks } from '../../src/jobs/scoring-tasks.js';
import { faultPlanFromEnv, faultyBlobs } from './faults.js';

const port = parentPort;
if (!port) throw new Error('fault-scoring-thread runs only as a worker thread');
const blobs = await openBlobStore((workerData as { config: Config }).config);
serveScoringTasks(port, faultyBlobs(blobs, faultPlanFromEnv()));
