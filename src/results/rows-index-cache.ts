/**
 * Loaded rows indexes, most recently used first, within a byte budget: the first page of a
 * prediction pays for fetching and checking its index, the following pages only for their rows.
 * Concurrent requests for one index share one load.
 */
import type { BlobStore } from '../blobs/port.js';
import { decodeRowsIndex, type RowsIndex } from './rows-index.js';

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

  /** The index stored under `key`, loaded once and kept while it is among the recently used. */
  get(key: string): Promise<RowsIndex> {
    const cached = this.entries.get(key);
    if (cached) {
      // Map order is insertion order: re-inserting marks it most recently used.
      this.entries.delete(key);
      this.entries.set(key, cached);
      return cached;
    }
    const loading = this.load(key);
    this.entries.set(key, loading);
    loading.then(
      (index) => this.admit(key, loading, index.memoryBytes),
      () => this.evict(key),
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

  private async load(key: string): Promise<RowsIndex> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.blobs.get(key)) chunks.push(chunk as Buffer);
    return decodeRowsIndex(Buffer.concat(chunks));
  }

  private admit(key: string, loading: Promise<RowsIndex>, bytes: number): void {
    if (this.entries.get(key) !== loading) return;
    this.sizes.set(key, bytes);
    this.used += bytes;
    // The oldest go first; an index larger than the whole budget is served once and not kept.
    for (const oldest of this.entries.keys()) {
      if (this.used <= this.budgetBytes) break;
      if (this.sizes.has(oldest)) this.evict(oldest);
    }
  }
}
