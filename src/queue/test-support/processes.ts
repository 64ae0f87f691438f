import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { QueueSpec } from './spec.js';

const childScript = fileURLToPath(new URL('./queue-child.ts', import.meta.url));

export interface QueueChild {
  readonly process: ChildProcess;
  /** Every JSON line the child printed so far. */
  readonly events: Array<Record<string, unknown>>;
  /** Resolves with the first event matching `predicate` (already printed or still to come). */
  waitFor(
    predicate: (event: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<number | null>;
}

/** Starts the contract suite's child process (TypeScript through tsx) on the queue `spec`. */
export function startQueueChild(spec: QueueSpec, mode: string, count: number): QueueChild {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', childScript, JSON.stringify(spec), mode, String(count)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const events: Array<Record<string, unknown>> = [];
  const listeners = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    events.push(JSON.parse(line) as Record<string, unknown>);
    for (const listener of listeners) listener();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return {
    process: child,
    events,
    exited,
    waitFor(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(predicate);
          if (!found) return false;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`child did not report the expected event within ${timeoutMs} ms`));
        }, timeoutMs);
        if (!check()) listeners.add(check);
      });
    },
  };
}
