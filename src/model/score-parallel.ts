/**
 * Parallel streamed scoring on worker threads. The main thread only cuts the input bytes at record
 * boundaries (a newline outside quotes: UTF-8 never puts a newline or quote byte inside a
 * character, so cuts are safe before decoding) and writes results in input order; workers parse
 * and score. In-flight chunks are capped, so memory stays bounded for any file size.
 */
import type { Writable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { siblingModule, startModuleWorker } from '../threads.js';
import { CsvParser } from './csv-reader.js';
import { CsvInputError } from './errors.js';
import type { ModelFile } from './model-file.js';
import { addTally, checkFailureShare, emptyTally, headerLine } from './score-batch.js';
import {
  fileFacts,
  type ScoreInput,
  type ScoreOptions,
  type ScoreSummary,
  scoreCsvStream,
  scorerOptions,
  summarise,
  write,
} from './score-stream.js';
import type { ScoreWorkerData, ScoreWorkerReply, ScoreWorkerRequest } from './score-worker.js';
import { RecordScorer } from './scorer.js';

export interface ParallelScoreOptions extends ScoreOptions {
  /** Worker threads; 1 or fewer scores on the calling thread. */
  workers?: number;
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
const QUOTE_IN_QUOTED = 3;

/** Chunks are gathered to at least this size before dispatch, to amortise messaging. */
const MIN_CHUNK_BYTES = 512 * 1024;
/** Longest record accepted while looking for its end (a never-closed quote, most likely). */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
const CHUNKS_IN_FLIGHT_PER_WORKER = 2;

/**
 * Index just after the last record-ending newline, or -1. Follows the parser's own rules (a quote
 * opens a quoted field only at the start of a field), so a stray quote inside an unquoted field
 * cannot shift the cut. `bytes` must start at a record boundary.
 */
export function recordBoundary(bytes: Uint8Array, delimiter: number): number {
  if (bytes.indexOf(QUOTE) === -1) {
    const newline = bytes.lastIndexOf(LF);
    return newline === -1 ? -1 : newline + 1;
  }
  let state = FIELD_START;
  let boundary = -1;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (state === QUOTED) {
      if (byte === QUOTE) state = QUOTE_IN_QUOTED;
    } else if (byte === LF) {
      boundary = i + 1;
      state = FIELD_START;
    } else if (byte === delimiter) {
      state = FIELD_START;
    } else if (state === QUOTE_IN_QUOTED) {
      // A doubled quote continues the quoted field; anything else is text after the closing one.
      state = byte === QUOTE ? QUOTED : UNQUOTED;
    } else if (state === FIELD_START) {
      state = byte === QUOTE ? QUOTED : UNQUOTED;
    }
  }
  return boundary;
}

/** End of the header: the first newline outside quotes (the delimiter is not known yet). */
function headerBoundary(bytes: Uint8Array): number {
  let quoted = false;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === QUOTE) quoted = !quoted;
    else if (bytes[i] === LF && !quoted) return i + 1;
  }
  return -1;
}

function startWorker(data: ScoreWorkerData): Worker {
  // A worker holds one chunk at a time; a small heap cap makes V8 collect early instead of
  // growing, which is what keeps peak RSS low on big files.
  const resourceLimits = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 };
  return startModuleWorker(siblingModule(import.meta.url, 'score-worker'), {
    workerData: data,
    resourceLimits,
  });
}

/** One async iterator over any readable, async or plain iterable of chunks. */
async function* chunksOf(input: ScoreInput): AsyncGenerator<Buffer | string> {
  for await (const chunk of input) yield chunk;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0);
  joined.set(b, a.length);
  return joined;
}

/**
 * Like scoreCsvStream (same output bytes, same summary), with parsing and scoring spread over
 * `workers` threads. Each worker's heap is capped, which also keeps the process's peak RSS low.
 */
export async function scoreCsvStreamParallel(
  input: ScoreInput,
  output: Writable,
  model: ModelFile,
  options: ParallelScoreOptions = {},
): Promise<ScoreSummary> {
  const workerCount = options.workers ?? 2;
  if (workerCount <= 1) return scoreCsvStream(input, output, model, options);

  let pending: Uint8Array = new Uint8Array(0);
  let bytesRead = 0;
  let bytesDispatched = 0;
  const iterator = chunksOf(input);
  let done = false;
  const readMore = async (): Promise<boolean> => {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      return false;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    bytesRead += chunk.length;
    pending = concat(pending, chunk);
    return true;
  };
  const tooLong = () =>
    new CsvInputError(
      `a row runs past ${MAX_PENDING_BYTES} bytes; a quoted field is probably never closed.`,
    );

  // The header, parsed here so the column mapping fails before any worker starts. Like the
  // parser, skip a byte order mark and blank lines before it.
  let headerEnd = -1;
  let atStart = true;
  while (headerEnd === -1 && (await readMore())) {
    if (atStart && pending.length >= 3) {
      if (pending[0] === 0xef && pending[1] === 0xbb && pending[2] === 0xbf) {
        pending = pending.subarray(3);
      }
      atStart = false;
    }
    if (!atStart) {
      let blank = 0;
      while (blank < pending.length && (pending[blank] === LF || pending[blank] === CR)) blank++;
      pending = pending.subarray(blank);
    }
    headerEnd = headerBoundary(pending);
    if (headerEnd === -1 && pending.length > MAX_PENDING_BYTES) throw tooLong();
  }
  const headerBytes = headerEnd === -1 ? pending : pending.subarray(0, headerEnd);
  pending = headerEnd === -1 ? new Uint8Array(0) : pending.subarray(headerEnd);
  let headerText: string;
  try {
    headerText = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new CsvInputError(
      'the header row is not valid UTF-8; save the file as UTF-8 and try again.',
    );
  }
  const parser = new CsvParser(options.delimiter);
  const headerRecords: string[][] = [];
  parser.push(headerText, true, headerRecords);
  const headerRecord = headerRecords[0];
  if (headerRecord === undefined)
    throw new CsvInputError('the file is empty: it has no header row.');
  const headers = headerRecord.map((header) => header.trim());
  const delimiter = parser.delimiter ?? ',';
  const delimiterByte = delimiter.charCodeAt(0);
  const settings = { ...scorerOptions(options), delimiter };
  const scorer = new RecordScorer(model, headers, settings);
  const header = headerLine(headers);
  await write(output, header);
  options.rows?.header(header);

  const data: ScoreWorkerData = {
    model,
    headers,
    delimiter,
    scorer: settings,
    reasons: options.reasons ?? 3,
    collectRows: options.rows !== undefined,
  };
  const workers = Array.from({ length: workerCount }, () => startWorker(data));
  const replies = new Map<number, ScoreWorkerReply>();
  const chunkStarts = new Map<number, number>();
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  /** Chunks sent to each worker and not answered yet. */
  const outstanding = workers.map(() => 0);
  workers.forEach((worker, index) => {
    worker.on('message', (reply: ScoreWorkerReply) => {
      (outstanding[index] as number)--;
      replies.set(reply.sequence, reply);
      wake?.();
    });
    worker.on('error', (error) => {
      failure ??= error;
      wake?.();
    });
  });
  const nextEvent = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });

  const tally = emptyTally();
  let sent = 0;
  let written = 0;
  const dispatch = (bytes: Uint8Array) => {
    const copy = Uint8Array.from(bytes);
    chunkStarts.set(sent, bytesDispatched);
    bytesDispatched += bytes.length;
    const request: ScoreWorkerRequest = { sequence: sent, bytes: copy };
    // To the worker with the fewest chunks waiting, not in turn: a thread that shares its core
    // with the main thread or the file writes falls behind, and in turn the other thread would
    // wait for it (output is written in order, with few chunks in flight).
    let target = 0;
    for (let w = 1; w < workerCount; w++) {
      if ((outstanding[w] as number) < (outstanding[target] as number)) target = w;
    }
    (outstanding[target] as number)++;
    (workers[target] as Worker).postMessage(request, [copy.buffer]);
    sent++;
  };
  // Writes every reply that is next in order; throws the first failure.
  const drainReplies = async () => {
    for (;;) {
      if (failure) throw failure;
      const reply = replies.get(written);
      if (reply === undefined) return;
      replies.delete(written);
      if ('error' in reply) {
        const at = chunkStarts.get(written) ?? 0;
        if (!reply.error.input) throw new Error(reply.error.message);
        throw new CsvInputError(
          reply.error.message === 'not valid UTF-8'
            ? `the file is not valid UTF-8 (bad bytes after byte ${at + headerBytes.length}); save it as UTF-8 and try again.`
            : reply.error.message,
        );
      }
      chunkStarts.delete(written);
      addTally(tally, reply.tally);
      checkFailureShare(tally, false);
      if (reply.rows) options.rows?.add(reply.rows);
      written++;
      await write(output, reply.output);
      options.onProgress?.({ rows: tally.rows, bytes: Math.min(bytesRead, bytesDispatched) });
    }
  };

  try {
    while (!done || pending.length > 0) {
      while (!done && pending.length < MIN_CHUNK_BYTES) await readMore();
      const boundary = done ? pending.length : recordBoundary(pending, delimiterByte);
      if (boundary > 0) {
        dispatch(pending.subarray(0, boundary));
        pending = pending.subarray(boundary);
      } else if (!done) {
        if (pending.length > MAX_PENDING_BYTES) throw tooLong();
        await readMore();
      }
      while (sent - written >= workerCount * CHUNKS_IN_FLIGHT_PER_WORKER) {
        await drainReplies();
        if (sent - written >= workerCount * CHUNKS_IN_FLIGHT_PER_WORKER) await nextEvent();
      }
      await drainReplies();
    }
    while (written < sent) {
      await drainReplies();
      if (written < sent) await nextEvent();
    }
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  checkFailureShare(tally, true);
  return summarise(tally, fileFacts(scorer, delimiter));
}
