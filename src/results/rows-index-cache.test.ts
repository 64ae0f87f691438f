import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../blobs/fs.js';
import { emptyRowFacts } from '../model/score-batch.js';
import { decodeRowsIndex, RowsIndexFormatError } from './rows-index.js';
import { RowsIndexBuilder } from './rows-index-builder.js';
import { RowsIndexCache } from './rows-index-cache.js';

const HEADER = 'id,churn_probability,risk_tier,top_reasons,score_error\n';

/** An index over `rows` rows of 10 bytes each, and a results file of the size it describes. */
function indexOf(rows: number): { index: Buffer; csvBytes: number } {
  const builder = new RowsIndexBuilder();
  builder.header(HEADER);
  const facts = emptyRowFacts();
  for (let i = 0; i < rows; i++) {
    facts.probabilities.push(i);
    facts.tiers.push(1);
    facts.ids.push(`id-${i}`);
    facts.bytes.push(10);
  }
  builder.add(facts);
  return { index: builder.finish(), csvBytes: HEADER.length + rows * 10 };
}

let dir: string;
let blobs: FsBlobStore;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'churnline-index-cache-'));
  blobs = new FsBlobStore(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const key = (n: number) => `users/u/results/00000000-0000-4000-8000-00000000000${n}`;

async function store(n: number, rows: number, csvBytes?: number): Promise<number> {
  const built = indexOf(rows);
  await blobs.put(`${key(n)}.rows-index`, built.index);
  await blobs.put(`${key(n)}.csv`, Buffer.alloc(csvBytes ?? built.csvBytes, 'x'));
  return decodeRowsIndex(built.index).memoryBytes;
}

const get = (cache: RowsIndexCache, n: number) =>
  cache.get(`${key(n)}.rows-index`, `${key(n)}.csv`);

describe('RowsIndexCache', () => {
  it('keeps recently used indexes within its budget, evicting the oldest', async () => {
    const size = await store(1, 100);
    await store(2, 100);
    await store(3, 100);
    const cache = new RowsIndexCache(blobs, 2 * size);
    await get(cache, 1);
    await get(cache, 2);
    await get(cache, 1);
    await get(cache, 3);
    expect(cache.bytesUsed).toBe(2 * size);
    // 2 was the least recently used: loading it again reads the store, the others do not.
    await blobs.delete(`${key(1)}.rows-index`);
    await blobs.delete(`${key(3)}.rows-index`);
    await expect(get(cache, 1)).resolves.toBeDefined();
    await expect(get(cache, 3)).resolves.toBeDefined();
    await blobs.delete(`${key(2)}.rows-index`);
    await expect(get(cache, 2)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('serves an index larger than the budget once without emptying the cache for it', async () => {
    const small = await store(1, 10);
    await store(2, 5000);
    const cache = new RowsIndexCache(blobs, small * 2);
    await get(cache, 1);
    const large = await get(cache, 2);
    expect(large.rows).toBe(5000);
    expect(cache.bytesUsed).toBe(small);
    await blobs.delete(`${key(1)}.rows-index`);
    await expect(get(cache, 1)).resolves.toBeDefined();
  });

  it('refuses an index that does not describe the stored results file', async () => {
    await store(1, 100, 999);
    const cache = new RowsIndexCache(blobs);
    await expect(get(cache, 1)).rejects.toThrow(RowsIndexFormatError);
    await expect(get(cache, 1)).rejects.toThrow(
      /results file of 1055 bytes; the stored one has 999/,
    );
  });

  it('does not let a failed load evict an entry loaded after it', async () => {
    await store(1, 100);
    const cache = new RowsIndexCache(blobs);
    await blobs.delete(`${key(1)}.csv`);
    await blobs.put(`${key(1)}.csv`, Buffer.alloc(5, 'x'));
    const failing = get(cache, 1);
    cache.evict(`${key(1)}.rows-index`);
    await store(1, 100);
    const fresh = get(cache, 1);
    await expect(failing).rejects.toThrow(RowsIndexFormatError);
    await expect(fresh).resolves.toBeDefined();
    // Still cached: served without the store.
    await blobs.delete(`${key(1)}.rows-index`);
    await expect(get(cache, 1)).resolves.toBeDefined();
  });
});
