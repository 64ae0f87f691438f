import path from 'node:path';
import type { Config } from '../config/index.js';
import { FsBlobStore } from './fs.js';
import type { BlobStore } from './port.js';

/** The configured blob store; also called by scoring threads, which build their own. */
export function openBlobStore(config: Config): BlobStore {
  return new FsBlobStore(path.join(config.dataDir, 'blobs'));
}
