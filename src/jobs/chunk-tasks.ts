/**
 * A scoring thread's share of chunked scoring (src/jobs/chunks.ts): scoring one chunk of an
 * upload into its part, and joining the parts into the prediction's results and rows index.
 */
import { Readable } from 'node:stream';
import type { BlobStore } from '../blobs/port.js';
import type { ModelFile } from '../model/model-file.js';
import { addTally, checkFailureShare, emptyTally } from '../model/score-batch.js';
import { scoreCsvCounts, summarise } from '../model/score-stream.js';
import { type ChunkCounts, tallyFromJson, tallyToJson } from '../model/tally-json.js';
import type { RowsIndex } from '../results/rows-index.js';
import { RowsIndexBuilder } from '../results/rows-index-builder.js';
import { readBlob } from '../results/rows-index-cache.js';
import type { AssembleTask, ChunkTask, ScoredResults } from './scoring-protocol.js';
import { tagOperation } from './scoring-protocol.js';
import { storeRowsIndex, storeWhileWriting } from './stored-output.js';

/** Bytes read at a time from a chunk's range: memory stays flat whatever the chunk's size. */
const READ_BYTES = 4 * 1024 * 1024;

/** The header line, then bytes [start, end) of the upload, a ranged read at a time. */
async function* chunkBytes(
  blobs: BlobStore,
  task: ChunkTask,
  signal: AbortSignal,
): AsyncGenerator<Buffer> {
  yield await tagOperation('read', blobs.getRange(task.inputKey, 0, task.headerEnd));
  for (let at = task.start; at < task.end; at += READ_BYTES) {
    signal.throwIfAborted();
    const end = Math.min(task.end, at + READ_BYTES);
    yield await tagOperation('read', blobs.getRange(task.inputKey, at, end));
  }
}

/**
 * Scores one chunk: its results (rows only: the assembled file takes the header from the rows part)
 * and its rows, each stored as its part; returns its counts for the summary.
 */
export async function scoreChunk(
  blobs: BlobStore,
  model: ModelFile,
  task: ChunkTask,
  signal: AbortSignal,
  onProgress: (progress: { rows: number }) => void,
): Promise<ChunkCounts> {
  const input = Readable.from(chunkBytes(blobs, task, signal));
  const rows = new RowsIndexBuilder();
  const { result } = await storeWhileWriting(blobs, task.part.results, input, signal, (output) =>
    scoreCsvCounts(input, output, model, {
      ...task.scoring,
      rows,
      onProgress,
      // The first chunk's records start right after the header.
      chunk: { first: task.start === task.headerEnd },
    }),
  );
  await tagOperation(
    'write',
    blobs.put(task.part.rows, rows.encodePart(), {
      contentType: 'application/octet-stream',
      signal,
    }),
  );
  return { tally: tallyToJson(result.tally), facts: result.facts };
}

/**
 * A scoring thread's share of the assembly (the main thread joins the results meanwhile, with
 * joinResults): the rows index, built from every part's rows in chunk order and compared with
 * `previous` as one file would be, the customers' history, and the summary, adding up the counts
 * and judging the share of failed rows over the whole file.
 */
export async function assembleChunks(
  blobs: BlobStore,
  task: AssembleTask,
  previous: RowsIndex | undefined,
  signal: AbortSignal,
): Promise<ScoredResults> {
  const [first] = task.counts;
  if (!first) throw new Error('a prediction scored in chunks has no chunks');
  const steps: Record<string, number> = {};
  let last = performance.now();
  const step = (name: string) => {
    const now = performance.now();
    steps[name] = Math.round(now - last);
    last = now;
  };
  const tally = emptyTally();
  for (const counts of task.counts) addTally(tally, tallyFromJson(counts.tally));
  checkFailureShare(tally, true);
  const rows = new RowsIndexBuilder();
  for (const part of task.parts) {
    rows.addPart(await tagOperation('read', readBlob(blobs, part.rows)));
    signal.throwIfAborted();
  }
  step('readRows');
  const index = await storeRowsIndex(blobs, task.resultKey, rows, previous, signal);
  step('rowsIndex');
  const history = rows.history();
  step('history');
  return {
    summary: summarise(tally, first.facts),
    changes: rows.changes,
    history,
    historyMs: rows.historyMs,
    storedBytes: index.bytes,
    stepsMs: steps,
  };
}
