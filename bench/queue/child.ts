/**
 * A consumer process of the bench: the main process forks a few of these once and drives them
 * over IPC, so that multi-process cases measure separate processes competing for one queue
 * without paying process start-up inside a measurement.
 */
import { type ChildCommand, type ChildReply, ENDPOINTS_ENV } from './protocol.js';
import { createSystem } from './systems/index.js';
import type {
  Endpoints,
  Listener,
  QueueSystem,
  StartConsuming,
  SystemId,
} from './systems/system.js';

const endpoints = JSON.parse(process.env[ENDPOINTS_ENV] ?? 'null') as Endpoints | null;
if (!endpoints || !process.send) {
  console.error('bench/queue/child.ts is started by bench/queue/run.ts, not by hand.');
  process.exit(2);
}

const systems = new Map<SystemId, QueueSystem>();
let pendingConsume: StartConsuming | undefined;
let listener: Listener | undefined;

function reply(message: ChildReply): void {
  process.send!(message);
}

function system(id: SystemId): QueueSystem {
  let found = systems.get(id);
  if (!found) {
    found = createSystem(id, endpoints!, false);
    systems.set(id, found);
  }
  return found;
}

async function handle(command: ChildCommand): Promise<void> {
  switch (command.type) {
    case 'prepare':
      pendingConsume = await system(command.system).prepareConsumer(command.queue, command.options);
      reply({ type: 'prepared' });
      return;
    case 'go': {
      const start = pendingConsume;
      pendingConsume = undefined;
      if (!start) throw new Error('go before prepare');
      reply({ type: 'consumed', result: await start() });
      return;
    }
    case 'listen':
      listener = await system(command.system).listen(command.queue, (at) =>
        reply({ type: 'received', at }),
      );
      reply({ type: 'listening' });
      return;
    case 'unlisten':
      await listener?.stop();
      listener = undefined;
      reply({ type: 'unlistened' });
      return;
    case 'close':
      await listener?.stop();
      for (const each of systems.values()) await each.close();
      reply({ type: 'closed' });
      process.disconnect();
      return;
  }
}

process.on('message', (command: ChildCommand) => {
  handle(command).catch((error: unknown) => {
    reply({
      type: 'error',
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  });
});
// The main process is gone (crash, kill): nothing else would ever stop this one.
process.on('disconnect', () => process.exit(0));
reply({ type: 'hello' });
