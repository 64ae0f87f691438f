import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { registerResource, signalPid } from './infra/cleanup.js';
import { type ChildCommand, type ChildReply, ENDPOINTS_ENV } from './protocol.js';
import type { ConsumeOptions, Endpoints, SystemId } from './systems/system.js';
import { now } from './systems/system.js';

const childScript = fileURLToPath(new URL('./child.ts', import.meta.url));

type ReplyType = ChildReply['type'];

/** One forked consumer process and the replies it sent that nobody has taken yet. */
class ConsumerChild {
  private readonly inbox: ChildReply[] = [];
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  onReceived: ((at: number) => void) | undefined;

  constructor(readonly process: ChildProcess) {
    process.on('message', (message: ChildReply) => {
      if (message.type === 'received') {
        this.onReceived?.(message.at);
        return;
      }
      if (message.type === 'error') this.failure = new Error(`consumer child: ${message.message}`);
      else this.inbox.push(message);
      this.waiter?.();
    });
    process.once('exit', (code, signal) => {
      this.failure ??= new Error(`consumer child exited early (code ${code}, signal ${signal})`);
      this.waiter?.();
    });
  }

  send(command: ChildCommand): void {
    this.process.send(command);
  }

  /** The next reply of `type`; rejects if the child reports an error or dies first. */
  async next<T extends ReplyType>(
    type: T,
    timeoutMs = 120_000,
  ): Promise<Extract<ChildReply, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.inbox.findIndex((message) => message.type === type);
      if (index >= 0) return this.inbox.splice(index, 1)[0] as Extract<ChildReply, { type: T }>;
      if (this.failure) throw this.failure;
      if (Date.now() > deadline)
        throw new Error(`consumer child sent no '${type}' in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  async close(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    if (this.process.connected) this.send({ type: 'close' });
    await exited;
  }
}

export interface ConsumeOutcome {
  readonly count: number;
  readonly seconds: number;
}

/**
 * A fixed set of consumer processes (TypeScript through tsx), started once and reused by every
 * case, so that a measurement never includes process or connection start-up.
 */
export class ConsumerPool {
  private constructor(private readonly children: ConsumerChild[]) {}

  static async start(size: number, endpoints: Endpoints): Promise<ConsumerPool> {
    const children = Array.from({ length: size }, () => {
      const process = fork(childScript, [], {
        execArgv: ['--import', 'tsx'],
        env: { ...globalThis.process.env, [ENDPOINTS_ENV]: JSON.stringify(endpoints) },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const child = new ConsumerChild(process);
      registerResource({
        name: `consumer child ${process.pid}`,
        stop: () => child.close(),
        killNow: () => signalPid(process.pid, 'SIGKILL'),
      });
      return child;
    });
    await Promise.all(children.map((child) => child.next('hello', 60_000)));
    return new ConsumerPool(children);
  }

  get size(): number {
    return this.children.length;
  }

  /** Runs `processes` children against one filled queue until it is empty; returns the total. */
  async consume(
    system: SystemId,
    queue: string,
    processes: number,
    options: ConsumeOptions,
  ): Promise<ConsumeOutcome> {
    const children = this.children.slice(0, processes);
    for (const child of children) child.send({ type: 'prepare', system, queue, options });
    await Promise.all(children.map((child) => child.next('prepared')));
    const startedAt = now();
    for (const child of children) child.send({ type: 'go' });
    const results = await Promise.all(children.map((child) => child.next('consumed')));
    const count = results.reduce((sum, reply) => sum + reply.result.count, 0);
    const endedAt = Math.max(...results.map((reply) => reply.result.lastAckAt));
    return { count, seconds: (endedAt - startedAt) / 1000 };
  }

  /** Starts a long-polling consumer in the first child; `onReceived` gets its receive times. */
  async listen(
    system: SystemId,
    queue: string,
    onReceived: (at: number) => void,
  ): Promise<() => Promise<void>> {
    const child = this.children[0]!;
    child.onReceived = onReceived;
    child.send({ type: 'listen', system, queue });
    await child.next('listening');
    return async () => {
      child.send({ type: 'unlisten' });
      await child.next('unlistened');
      child.onReceived = undefined;
    };
  }
}
