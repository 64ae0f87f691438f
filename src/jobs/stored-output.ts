import { PassThrough, type Readable } from 'node:stream';
import type { BlobStore, PutResult } from '../blobs/port.js';
import { rowsIndexKeyOfResult } from '../ids.js';
import type { RowsIndex } from '../results/rows-index.js';
import type { RowsIndexBuilder } from '../results/rows-index-builder.js';
import { tagOperation } from './scoring-protocol.js';

/**
 * Runs `work` writing into a stream stored under `key` as it goes, and resolves once both are
 * done. When either fails, both stop and nothing is stored: a failed put (a full disk) ends the
 * work, which would otherwise wait for ever to write to a body nobody reads, and its error is
 * the cause reported (a bad CSV comes back from the put as itself: the body's own error).
 */
export async function storeWhileWriting<T>(
  blobs: BlobStore,
  key: string,
  input: Readable | undefined,
  signal: AbortSignal,
  work: (output: PassThrough) => Promise<T>,
): Promise<{ result: T; stored: PutResult }> {
  const output = new PassThrough();
  const stored = tagOperation('write', blobs.put(key, output, { contentType: 'text/csv', signal }));
  // Its rejection must not count as unhandled meanwhile (that ends the whole thread).
  const storeFailed = stored.then(() => new Promise<never>(() => {}));
  storeFailed.catch(() => {});
  try {
    const result = await Promise.race([work(output), storeFailed]);
    output.end();
    return { result, stored: await stored };
  } catch (error) {
    input?.destroy();
    output.destroy(error instanceof Error ? error : new Error(String(error)));
    const storeError = await stored.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    throw storeError ?? error;
  }
}

/** Stores the rows index beside the results (see rows-index.ts), compared with `previous`. */
export function storeRowsIndex(
  blobs: BlobStore,
  resultKey: string,
  rows: RowsIndexBuilder,
  previous: RowsIndex | undefined,
  signal: AbortSignal,
): Promise<PutResult> {
  return tagOperation(
    'write',
    blobs.put(rowsIndexKeyOfResult(resultKey), rows.finish(previous), {
      contentType: 'application/octet-stream',
      signal,
    }),
  );
}
