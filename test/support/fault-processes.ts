/** Worker and API child processes for the fault tests, and waiting on how they end. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const faultWorkerEntry = fileURLToPath(new URL('./fault-worker.ts', import.meta.url));
const faultApiEntry = fileURLToPath(new URL('./fault-api.ts', import.meta.url));

/** A worker process with the faults `faults` (FAULT_* variables) names; the caller ends it. */
export function startFaultWorker(
  env: Record<string, string>,
  faults: Record<string, string> = {},
): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', faultWorkerEntry], {
    env: { ...process.env, ...env, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal', ...faults },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** An API process (fault-api.ts) with the faults `faults` names, and its URL once it listens. */
export function startFaultApi(
  env: Record<string, string>,
  faults: Record<string, string> = {},
): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', faultApiEntry], {
    env: { ...process.env, ...env, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal', ...faults },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', resolve);
    child.once('exit', (code, signal) =>
      reject(new Error(`the API process ended before listening (${code ?? signal})`)),
    );
  });
  return { child, url };
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** How the process ended; rejects if it is still running after `timeoutMs`. */
export function exited(child: ChildProcess, timeoutMs = 60_000): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`process ${child.pid} still running after ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** SIGTERM (a graceful stop), then how it ended. */
export async function stopGracefully(child: ChildProcess, timeoutMs = 30_000): Promise<Exit> {
  child.kill('SIGTERM');
  return exited(child, timeoutMs);
}
