/** Progress is written at most once a second: a batch of rows or a fit can end many times a second. */
export const PROGRESS_INTERVAL_MS = 1000;

/** Calls `record` with the latest value at most once per `intervalMs`, the first at once. */
export function throttled<T>(
  record: (value: T) => unknown,
  intervalMs = PROGRESS_INTERVAL_MS,
): (value: T) => void {
  let last = 0;
  return (value) => {
    const now = Date.now();
    if (now - last < intervalMs) return;
    last = now;
    void record(value);
  };
}
