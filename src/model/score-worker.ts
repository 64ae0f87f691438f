/**
 * Worker thread for parallel scoring: receives chunks of whole records as UTF-8 bytes, scores
 * them, and posts back the output bytes and the chunk's tally.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ByteOutput } from './byte-output.js';
import { CsvParser, type Delimiter } from './csv-reader.js';
import { CsvInputError } from './errors.js';
import type { ModelFile } from './model-file.js';
import { BatchScorer, emptyRowFacts, emptyTally, type RowFacts } from './score-batch.js';
import { RecordScorer, type ScorerOptions } from './scorer.js';

export interface ScoreWorkerData {
  model: ModelFile;
  headers: string[];
  delimiter: Delimiter;
  /** The same settings as the main thread's scorer (as-of time, column choices). */
  scorer: ScorerOptions;
  reasons: number;
  /** Send back each chunk's row facts for the rows index. */
  collectRows: boolean;
}

export interface ScoreWorkerRequest {
  sequence: number;
  /** Whole records: the main thread cuts only at newlines outside quotes. */
  bytes: Uint8Array;
}

export type ScoreWorkerReply =
  | {
      sequence: number;
      output: Uint8Array;
      tally: ReturnType<typeof emptyTally>;
      rows: RowFacts | undefined;
    }
  | { sequence: number; error: { input: boolean; message: string } };

const data = workerData as ScoreWorkerData;
const scorer = new RecordScorer(data.model, data.headers, data.scorer);
const decoder = new TextDecoder('utf-8', { fatal: true });
/** Reused for every chunk: it grows to the largest chunk's output once. */
const output = new ByteOutput(1 << 20);
const port = parentPort;

port?.on('message', (request: ScoreWorkerRequest) => {
  try {
    let text: string;
    try {
      text = decoder.decode(request.bytes);
    } catch {
      throw new CsvInputError('not valid UTF-8');
    }
    output.clear();
    const tally = emptyTally();
    const rows = data.collectRows ? emptyRowFacts() : undefined;
    const batch = new BatchScorer(scorer, tally, output, data.delimiter, data.reasons, rows);
    // As many characters as bytes: all ASCII, so character offsets are byte offsets.
    if (text.length === request.bytes.length) batch.asciiSource = request.bytes;
    // Each record is scored as soon as it is parsed, so its strings die young.
    new CsvParser(data.delimiter).parse(text, true, (record, line, start) =>
      batch.add(record, line, start),
    );
    batch.finish();
    // A copy of its own, transferred, so the main thread never holds the text on its heap.
    const bytes = output.take();
    port.postMessage(
      { sequence: request.sequence, output: bytes, tally, rows } satisfies ScoreWorkerReply,
      [bytes.buffer],
    );
  } catch (error) {
    port.postMessage({
      sequence: request.sequence,
      error: {
        input: error instanceof CsvInputError,
        message: error instanceof Error ? error.message : String(error),
      },
    } satisfies ScoreWorkerReply);
  }
});
