import type { Config } from './config/index.js';
import type { Logger } from './log.js';
import type { JobQueue } from './queue/port.js';
import { SqliteJobQueue } from './queue/sqlite.js';

/**
 * The composition root: builds the configured adapters once and wires them together.
 * Nothing else reads the environment; everything else receives what it needs from here.
 */
export interface App {
  readonly config: Config;
  readonly log: Logger;
  readonly queue: JobQueue;
  close(): Promise<void>;
}

export async function createApp(config: Config, log: Logger): Promise<App> {
  const queue = openQueue(config);
  return {
    config,
    log,
    queue,
    async close() {
      await queue.close();
    },
  };
}

export function openQueue(config: Config): JobQueue {
  switch (config.queue.kind) {
    case 'sqlite':
      return new SqliteJobQueue({
        file: config.queue.file,
        name: config.queue.name,
        settings: config.queue.settings,
        pollIntervalMs: config.queue.pollIntervalMs,
      });
  }
}
