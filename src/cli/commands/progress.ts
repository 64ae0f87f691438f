/** A one-line progress bar (percent, rows, rows/s, ETA) on a terminal; nothing in a pipe. */

export interface ProgressBar {
  update(rows: number, bytes: number): void;
  finish(): void;
}

const REDRAW_MS = 100;
const WIDTH = 24;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
}

export function createProgressBar(
  stream: NodeJS.WriteStream,
  totalBytes: number,
  now: () => number = Date.now,
): ProgressBar {
  if (stream.isTTY !== true) return { update() {}, finish() {} };
  const started = now();
  let lastDraw = 0;
  let drawn = false;
  return {
    update(rows, bytes) {
      const time = now();
      if (time - lastDraw < REDRAW_MS) return;
      lastDraw = time;
      const fraction = totalBytes > 0 ? Math.min(1, bytes / totalBytes) : 0;
      const elapsed = (time - started) / 1000;
      const rate = elapsed > 0 ? rows / elapsed : 0;
      const eta = fraction > 0 ? (elapsed / fraction) * (1 - fraction) : Number.POSITIVE_INFINITY;
      const filled = Math.round(fraction * WIDTH);
      stream.write(
        `\r[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${rows.toLocaleString('en-US')} rows  ${Math.round(rate).toLocaleString('en-US')} rows/s  ETA ${duration(eta)}   `,
      );
      drawn = true;
    },
    finish() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
