/**
 * Loaded rows indexes, most recently used first, within a byte budget: the first page of a
 * prediction pays for fetching and checking its index, the following pages only for their rows.
 * Concurrent requests for one index share one load.
 */
import type { BlobStore } from '../blobs/port.js';
import { decodeRowsIndex, type RowsIndex, RowsIndexFormatError } from './rows-index.js';

/** Enough for a handful of million-row predictions (about 30 MB each). */
export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

export class RowsIndexCache {
  private readonly entries = new Map<string, Promise<RowsIndex>>();
  private readonly sizes = new Map<string, number>();
  private used = 0;

  constructor(
    private readonly blobs: BlobStore,
    private readonly budgetBytes = DEFAULT_CACHE_BYTES,
  ) {}

  /**
   * The index stored under `key` for the results under `resultKey`, loaded once and kept while it
   * is among the recently used. Loading checks that it describes the results file as stored (its
   * size), so an index left from another version of the file is refused, not trusted.
   */
  get(key: string, resultKey: string): Promise<RowsIndex> {
    const cached = this.entries.get(key);
    if (cached) {
      // Map order is insertion order: re-inserting marks it most recently used.
      this.entries.delete(key);
      this.entries.set(key, cached);
      return cached;
    }
    const loading = this.load(key, resultKey);
    this.entries.set(key, loading);
    loading.then(
      (index) => this.admit(key, loading, index.memoryBytes),
      // Only this load's entry: the key may have been evicted and loaded again meanwhile.
      () => {
        if (this.entries.get(key) === loading) this.entries.delete(key);
      },
    );
    return loading;
  }

  /** Forgets the index (its prediction was deleted, or the index proved unusable). */
  evict(key: string): void {
    this.entries.delete(key);
    this.used -= this.sizes.get(key) ?? 0;
    this.sizes.delete(key);
  }

  get bytesUsed(): number {
    return this.used;
  }

  private async load(key: string, resultKey: string): Promise<RowsIndex> {
    const [bytes, results] = await Promise.all([this.read(key), this.blobs.head(resultKey)]);
    const index = decodeRowsIndex(bytes);
    if (results && results.bytes !== index.csvBytes) {
      throw new RowsIndexFormatError(
        `the index describes a results file of ${index.csvBytes} bytes; the stored one has ${results.bytes}`,
      );
    }
    return index;
  }

  private read(key: string): Promise<Buffer> {
    return readBlob(this.blobs, key);
  }

  private admit(key: string, loading: Promise<RowsIndex>, bytes: number): void {
    if (this.entries.get(key) !== loading) return;
    // Larger than the whole budget: served once and not kept, without emptying the cache first.
    if (bytes > this.budgetBytes) {
      this.entries.delete(key);
      return;
    }
    this.sizes.set(key, bytes);
    this.used += bytes;
    // The oldest go first.
    for (const oldest of this.entries.keys()) {
      if (this.used <= this.budgetBytes) break;
      if (this.sizes.has(oldest)) this.evict(oldest);
    }
  }
}

/** A stored object's bytes, whole: for a rows index, which is read whole anyway. */
export async function readBlob(blobs: BlobStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await blobs.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
