/**
 * Chunked scoring: a file larger than SCORE_CHUNK_BYTES is split at record starts into byte
 * ranges of about that size, each scored by its own job (kind `score-chunk`) on whichever worker
 * takes it, into a part of its own (src/ids.ts partKeys). The job that scores the last chunk
 * queues one `assemble` job, which joins the parts into the results and rows index, adds up the
 * counts into the summary and completes the prediction, as a single job would have.
 *
 * - Each chunk is retried on its own (redelivery); its part is keyed by its number, so a second
 *   delivery rewrites the same part with the same bytes.
 * - A chunk that fails for good, or dead-letters, fails the prediction; nothing partial is ever
 *   visible, since results exist only once assembled, and every part is then removed.
 * - Cancelling stops queued chunks (skipped when they arrive) and running ones at their next
 *   progress report.
 * - Progress is the sum of the chunks' rows scored.
 *
 * The split points are recorded while the upload streams in (CsvSniffer.splits): planning reads
 * nothing.
 */
import type { ChunkRange } from '../db/prediction-chunks.js';
import type { Upload } from '../db/schema.js';

/**
 * The byte ranges to score `upload` in, about `chunkBytes` each (a short tail joins the chunk
 * before it), or null when one job should score it: chunking off (0), a small file, or an
 * upload from before split points were recorded.
 */
export function planChunks(
  upload: Pick<Upload, 'bytes' | 'splits'>,
  chunkBytes: number,
): ChunkRange[] | null {
  if (chunkBytes <= 0 || upload.splits === null || upload.bytes <= chunkBytes) return null;
  const starts = (JSON.parse(upload.splits) as number[]).filter((at) => at < upload.bytes);
  const ranges: ChunkRange[] = [];
  let start = starts[0];
  if (start === undefined) return null;
  for (const at of starts) {
    if (at - start >= chunkBytes) {
      ranges.push({ start, end: at });
      start = at;
    }
  }
  const last = ranges.at(-1);
  if (last && upload.bytes - start < chunkBytes / 2)
    ranges[ranges.length - 1] = { ...last, end: upload.bytes };
  else ranges.push({ start, end: upload.bytes });
  return ranges.length > 1 ? ranges : null;
}
