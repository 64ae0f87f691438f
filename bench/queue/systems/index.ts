import { BullMqSystem } from './bullmq.js';
import { ChurnlineSystem } from './churnline.js';
import { PgBossSystem } from './pgboss.js';
import type { Endpoints, QueueSystem, SystemId } from './system.js';

/** `owner` is the bench's main process, which installs schemas; child processes only connect. */
export function createSystem(id: SystemId, endpoints: Endpoints, owner: boolean): QueueSystem {
  switch (id) {
    case 'churnline':
      return new ChurnlineSystem(endpoints);
    case 'pgboss':
      return new PgBossSystem(endpoints, owner);
    case 'bullmq':
      return new BullMqSystem(endpoints);
  }
}
