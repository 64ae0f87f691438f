/**
 * In-process wake-ups for long polls: a send wakes every receive waiting on the same queue in this
 * process at once. Waiters re-check the database themselves; the atomic claim decides who gets the
 * message, so a wake-up is only a hint and a missed one costs at most one poll interval.
 */
const waiters = new Map<string, Set<() => void>>();

export function wakeWaiters(key: string): void {
  const set = waiters.get(key);
  if (!set) return;
  for (const wake of [...set]) queueMicrotask(wake);
}

export interface WaitOptions<T> {
  key: string;
  waitMs: number;
  pollMs: number;
  signal: AbortSignal;
  /** Called on an in-process wake-up; a non-empty array ends the wait with it. */
  onWake: () => T;
  /** Called every pollMs; a non-empty array ends the wait, undefined or empty keeps waiting. */
  onPoll: () => T | undefined;
  /** Called once when the wait time is up; its result is returned. */
  onTimeout: () => T;
}

export function waitForWake<T extends unknown[]>(options: WaitOptions<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let set = waiters.get(options.key);
    if (!set) {
      set = new Set();
      waiters.set(options.key, set);
    }
    const registered = set;
    let done = false;
    const finish = (result: T | (() => T)) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(timeout);
      options.signal.removeEventListener('abort', onAbort);
      registered.delete(wake);
      if (registered.size === 0) waiters.delete(options.key);
      try {
        resolve(typeof result === 'function' ? result() : result);
      } catch (error) {
        reject(error);
      }
    };
    const attempt = (fn: () => T | undefined) => {
      if (done) return;
      try {
        const got = fn();
        if (got && got.length > 0) finish(got);
      } catch (error) {
        finish(() => {
          throw error;
        });
      }
    };
    const wake = () => attempt(options.onWake);
    const onAbort = () => finish([] as unknown as T);
    registered.add(wake);
    const poll = setInterval(() => attempt(options.onPoll), options.pollMs);
    const timeout = setTimeout(() => finish(options.onTimeout), options.waitMs);
    options.signal.addEventListener('abort', onAbort, { once: true });
  });
}
