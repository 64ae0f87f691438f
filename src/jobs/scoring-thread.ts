/** A scoring thread's entry: its own blob store from the pool's Config, then serve tasks. */
import { parentPort, workerData } from 'node:worker_threads';
import { openBlobStore } from '../blobs/open.js';
import type { Config } from '../config/index.js';
import { serveScoringTasks } from './scoring-tasks.js';

const port = parentPort;
if (!port) throw new Error('scoring-thread runs only as a worker thread');
serveScoringTasks(port, await openBlobStore((workerData as { config: Config }).config));
