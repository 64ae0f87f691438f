/**
 * Starting a worker thread on one of our modules. Built, the module is plain JS; from the
 * sources (tests, tsx) it is TypeScript, and a worker does not inherit the tsx loader, so a
 * one-line bootstrap registers it first.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** The URL of module `name` beside the module at `base` (its import.meta.url), .ts or .js alike. */
export function siblingModule(base: string, name: string): URL {
  return new URL(`./${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);
}

export function startModuleWorker(module: URL, options: WorkerOptions = {}): Worker {
  if (!module.pathname.endsWith('.ts')) return new Worker(module, options);
  // Resolved here, not in the thread: an eval'd thread resolves from the working directory,
  // which need not be the checkout (a process started elsewhere through a `churnline` link).
  const tsx = import.meta.resolve?.('tsx/esm/api') ?? 'tsx/esm/api';
  const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
