/**
 * The ranged-read part of the BlobStore contract (getRange), run by describeBlobStoreContract for
 * every adapter. Kept apart so that the main contract file stays readable.
 */
import { expect, it } from 'vitest';
import { newId, resultKey, userPrefix } from '../ids.js';
import { BlobError, type BlobStore } from './port.js';

const USER = 'auth0|5f7c8ec7c33c6c004bbafe82';

async function refusal(promise: Promise<unknown>): Promise<BlobError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the ranged read to be refused');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BlobError);
  return error as BlobError;
}

export function describeRangeReads(setup: () => Promise<{ store: BlobStore }>): void {
  it('reads byte ranges of an object: first, last, middle, whole, and many at once', async () => {
    const { store } = await setup();
    const key = resultKey(USER, newId());
    const data = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 11)) & 0xff;
    await store.put(key, data);
    const cases: Array<[number, number]> = [
      [0, 1],
      [0, 100],
      [data.length - 1, data.length],
      [1_000_003, 2_500_000],
      [0, data.length],
    ];
    for (const [start, end] of cases) {
      const bytes = await store.getRange(key, start, end);
      expect(bytes.equals(data.subarray(start, end)), `${start}-${end}`).toBe(true);
    }
    // Pages of a results file are read as many small ranges at once.
    const starts = Array.from({ length: 40 }, (_, i) => i * 70_001);
    const parts = await Promise.all(starts.map((start) => store.getRange(key, start, start + 333)));
    parts.forEach((part, i) => {
      expect(part.equals(data.subarray(starts[i], (starts[i] as number) + 333))).toBe(true);
    });
    // Multi-byte characters come back as the bytes asked for, split or not.
    const text = resultKey(USER, newId());
    await store.put(text, 'ünï,😀\n');
    expect((await store.getRange(text, 0, 2)).toString('utf8')).toBe('ü');
    expect((await store.getRange(text, 5, 10)).toString('utf8')).toBe(',😀');
    expect((await store.getRange(text, 6, 8)).equals(Buffer.from('😀').subarray(0, 2))).toBe(true);
  });

  it('refuses ranges past the end, empty or negative ranges, missing keys and bad keys', async () => {
    const { store } = await setup();
    const key = resultKey(USER, newId());
    await store.put(key, '0123456789');
    for (const [start, end] of [
      [0, 11],
      [5, 11],
      [10, 11],
      [20, 30],
      [3, 3],
      [4, 2],
      [-1, 3],
      [0.5, 3],
      [0, Number.NaN],
    ] as const) {
      expect(await refusal(store.getRange(key, start, end)), `${start}-${end}`).toMatchObject({
        code: 'invalid_range',
        retryable: false,
      });
    }
    expect((await store.getRange(key, 9, 10)).toString()).toBe('9');
    expect(await refusal(store.getRange(resultKey(USER, newId()), 0, 1))).toMatchObject({
      code: 'not_found',
      retryable: false,
    });
    expect((await refusal(store.getRange(`${userPrefix(USER)}results`, 0, 1))).code).toBe(
      'not_found',
    );
    expect((await refusal(store.getRange('../escape.csv', 0, 1))).code).toBe('invalid_key');
  });
}
