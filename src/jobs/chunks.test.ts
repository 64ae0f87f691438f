import { describe, expect, it } from 'vitest';
import { planChunks } from './chunks.js';

const MiB = 1024 ** 2;
/** Record starts as the sniffer keeps them: the header's end, then one past every MiB. */
const splits = (bytes: number, header = 100) => {
  const starts = [header];
  for (let at = header + MiB + 37; at < bytes; at += MiB + 37) starts.push(at);
  return JSON.stringify(starts);
};

describe('planChunks', () => {
  it('scores in one job when chunking is off, the file is small, or no splits were kept', () => {
    expect(planChunks({ bytes: 100 * MiB, splits: splits(100 * MiB) }, 0)).toBeNull();
    expect(planChunks({ bytes: 30 * MiB, splits: splits(30 * MiB) }, 32 * MiB)).toBeNull();
    expect(planChunks({ bytes: 100 * MiB, splits: null }, 32 * MiB)).toBeNull();
  });

  it('covers every data byte once, in ranges of about the chunk size that start at records', () => {
    for (const bytes of [5 * MiB + 3, 64 * MiB, 97 * MiB + 12_345, 1000 * MiB]) {
      for (const chunkBytes of [MiB, 8 * MiB, 32 * MiB]) {
        const upload = { bytes, splits: splits(bytes) };
        const ranges = planChunks(upload, chunkBytes);
        if (bytes <= chunkBytes) continue;
        expect(ranges).not.toBeNull();
        const starts = new Set(JSON.parse(upload.splits) as number[]);
        expect(ranges?.[0]?.start).toBe(100);
        expect(ranges?.at(-1)?.end).toBe(bytes);
        ranges?.forEach((range, i) => {
          expect(starts.has(range.start)).toBe(true);
          if (i > 0) expect(range.start).toBe(ranges[i - 1]?.end);
          expect(range.end - range.start).toBeGreaterThanOrEqual(chunkBytes / 2);
          expect(range.end - range.start).toBeLessThan(1.5 * chunkBytes + 2 * MiB);
        });
      }
    }
  });

  it('joins a short tail to the chunk before it', () => {
    const bytes = 2 * MiB + 200;
    const ranges = planChunks(
      { bytes, splits: JSON.stringify([100, MiB + 100, 2 * MiB + 100]) },
      MiB,
    );
    expect(ranges).toEqual([
      { start: 100, end: MiB + 100 },
      { start: MiB + 100, end: bytes },
    ]);
  });
});
