import { describe, expect, it } from 'vitest';
import { createProgressBar } from './progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  const stream = {
    isTTY,
    write: (text: string) => writes.push(text),
  } as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

describe('progress bar', () => {
  it('shows percent, rows, rows/s and ETA on a terminal, then clears its line', () => {
    const { stream, writes } = fakeStream(true);
    let now = 0;
    const bar = createProgressBar(stream, 1000, () => now);
    now = 2000;
    bar.update(50_000, 250);
    now = 2050;
    bar.update(60_000, 300); // within the redraw interval: skipped
    bar.finish();
    expect(writes).toEqual([
      '\r[######..................]  25%  50,000 rows  25,000 rows/s  ETA 6s   ',
      '\r\x1b[K',
    ]);
  });

  it('writes nothing when the stream is not a terminal', () => {
    const { stream, writes } = fakeStream(false);
    const bar = createProgressBar(stream, 1000, () => 5000);
    bar.update(10, 500);
    bar.finish();
    expect(writes).toEqual([]);
  });
});
