import { PassThrough, Readable } from 'node:stream';
import type { BlobStore, PutResult } from '../blobs/port.js';
import { rowsIndexKeyOfResult } from '../ids.js';
import type { RowsIndex } from '../results/rows-index.js';
import {
  PART_HEAD_BYTES,
  partHeaderBytes,
  type RowsIndexBuilder,
} from '../results/rows-index-builder.js';
import { type PartKeys, tagOperation } from './scoring-protocol.js';

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

/**
 * Stores the results of a file scored in chunks (src/jobs/chunks.ts): its header line, kept in the
 * first chunk's rows part, then every chunk's results in chunk order. The worker's main thread
 * runs it while a scoring thread builds the rows index from the same parts, so that the two
 * largest steps of an assembly overlap.
 */
export async function joinResults(
  blobs: BlobStore,
  resultKey: string,
  parts: readonly PartKeys[],
  signal: AbortSignal,
): Promise<PutResult> {
  const [first] = parts;
  if (!first) throw new Error('a prediction scored in chunks has no chunks');
  const headerBytes = partHeaderBytes(
    await tagOperation('read', blobs.getRange(first.rows, 0, PART_HEAD_BYTES)),
  );
  const header = await tagOperation(
    'read',
    blobs.getRange(first.rows, PART_HEAD_BYTES, PART_HEAD_BYTES + headerBytes),
  );
  const body = Readable.from(
    (async function* () {
      yield header;
      for (const part of parts) yield* await tagOperation('read', blobs.get(part.results));
    })(),
  );
  return tagOperation('write', blobs.put(resultKey, body, { contentType: 'text/csv', signal }));
}
