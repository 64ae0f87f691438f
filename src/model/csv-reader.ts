import type { Readable } from 'node:stream';
import { CsvInputError } from './errors.js';

export type Delimiter = ',' | ';' | '\t';

/** A record longer than this is refused, so one broken quote cannot make memory unbounded. */
export const MAX_RECORD_CHARS = 1 << 20;

const QUOTE = 34;
const LF = 10;
const CR = 13;

/** Picks the delimiter that occurs most often (outside quotes) in the header line. */
export function detectDelimiter(headerLine: string): Delimiter {
  const counts = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const ch of headerLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === ',' || ch === ';' || ch === '\t')) counts[ch]++;
  }
  let best: Delimiter = ',';
  for (const candidate of [';', '\t'] as const) {
    if (counts[candidate] > counts[best]) best = candidate;
  }
  return best;
}

/** Where the header line ends: its first newline outside quotes (-1 when not yet seen). */
export function headerLineEnd(text: string): number {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) quoted = !quoted;
    else if (code === LF && !quoted) return i;
  }
  return -1;
}

const recordTooLong = (row: number) =>
  new CsvInputError(
    `row ${row} is longer than ${MAX_RECORD_CHARS.toLocaleString('en-US')} characters, more than any customer record needs (a huge cell, or a quoted field that is never closed).`,
  );

/**
 * Incremental RFC 4180 parser over decoded text. Lines without a quote take a fast path
 * (`split`), which is nearly every line of a real export; quoted records go through a character
 * loop that handles doubled quotes and embedded delimiters and newlines.
 */
export class CsvParser {
  delimiter: Delimiter | undefined;
  private pending = '';
  private recordsSeen = 0;

  constructor(delimiter?: Delimiter) {
    this.delimiter = delimiter;
  }

  /**
   * Parses `text` appended to what is pending; pushes complete records into `out`. With `lines`,
   * also pushes each record's raw text when it had no quotes (so it can be copied through
   * unchanged) or undefined when it did.
   */
  push(text: string, final: boolean, out: string[][], lines?: Array<string | undefined>): void {
    const buffer = this.pending.length > 0 ? this.pending + text : text;
    this.pending = '';
    let delimiter = this.delimiter;
    if (delimiter === undefined) {
      const firstNewline = headerLineEnd(buffer);
      if (firstNewline === -1 && !final) {
        if (buffer.length > MAX_RECORD_CHARS) throw recordTooLong(1);
        this.pending = buffer;
        return;
      }
      delimiter = detectDelimiter(firstNewline === -1 ? buffer : buffer.slice(0, firstNewline));
      this.delimiter = delimiter;
    }
    const length = buffer.length;
    let pos = 0;
    // Searched again only once passed, so a quote-free buffer is scanned for quotes once.
    let quote = -2;
    while (pos < length) {
      const newline = buffer.indexOf('\n', pos);
      if (newline === -1 && !final) break;
      const lineEnd = newline === -1 ? length : newline;
      if (quote !== -1 && quote < pos) quote = buffer.indexOf('"', pos);
      if (quote === -1 || quote > lineEnd) {
        let end = lineEnd;
        if (end > pos && buffer.charCodeAt(end - 1) === CR) end--;
        if (end > pos) {
          const line = buffer.slice(pos, end);
          out.push(line.split(delimiter));
          lines?.push(line);
          this.recordsSeen++;
        }
        pos = lineEnd + 1;
        continue;
      }
      const next = this.parseQuotedRecord(buffer, pos, delimiter, final, out);
      if (next !== -1) lines?.push(undefined);
      if (next === -1) break;
      pos = next;
    }
    if (pos < length) {
      this.pending = buffer.slice(pos);
      if (this.pending.length > MAX_RECORD_CHARS) {
        throw recordTooLong(this.recordsSeen + 1);
      }
    }
  }

  /** Returns the position after the record, or -1 when the record continues past the buffer. */
  private parseQuotedRecord(
    buffer: string,
    start: number,
    delimiter: Delimiter,
    final: boolean,
    out: string[][],
  ): number {
    const delimiterCode = delimiter.charCodeAt(0);
    const length = buffer.length;
    const fields: string[] = [];
    let field = '';
    let pos = start;
    let fieldStart = start;
    for (;;) {
      if (pos < length && buffer.charCodeAt(pos) === QUOTE && pos === fieldStart) {
        // Quoted field: runs to the next quote that is not doubled.
        let cursor = pos + 1;
        for (;;) {
          const closing = buffer.indexOf('"', cursor);
          if (closing === -1) {
            if (!final) return -1;
            throw new CsvInputError(
              `row ${this.recordsSeen + 1} has a quoted field that is never closed.`,
            );
          }
          field += buffer.slice(cursor, closing);
          if (closing + 1 < length && buffer.charCodeAt(closing + 1) === QUOTE) {
            field += '"';
            cursor = closing + 2;
            continue;
          }
          if (closing + 1 >= length && !final) return -1;
          pos = closing + 1;
          break;
        }
        fieldStart = pos;
      }
      // Unquoted text (or text trailing a closing quote, kept as is) up to a delimiter or newline.
      let cursor = pos;
      while (cursor < length) {
        const code = buffer.charCodeAt(cursor);
        if (code === delimiterCode || code === LF) break;
        cursor++;
      }
      if (cursor >= length && !final) return -1;
      let end = cursor;
      if ((cursor >= length || buffer.charCodeAt(cursor) === LF) && end > pos) {
        if (buffer.charCodeAt(end - 1) === CR) end--;
      }
      field += buffer.slice(pos, end);
      fields.push(field);
      field = '';
      if (cursor >= length || buffer.charCodeAt(cursor) === LF) {
        out.push(fields);
        this.recordsSeen++;
        return cursor + 1;
      }
      pos = cursor + 1;
      fieldStart = pos;
    }
  }
}

export interface CsvReadOptions {
  delimiter?: Delimiter;
}

export interface CsvBatch {
  records: string[][];
  /** Per record: its raw text when it had no quotes, else undefined. */
  lines: Array<string | undefined>;
  /** The delimiter in use (detected from the header line unless given). */
  delimiter: Delimiter;
}

/**
 * Reads a byte stream as CSV records, yielded in batches (one per input chunk) so per-record
 * async overhead stays out of the hot loop. A UTF-8 byte order mark is dropped; bytes that are
 * not valid UTF-8 stop the read with a CsvInputError.
 */
export async function* readCsvBatches(
  input: Readable | AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  options: CsvReadOptions = {},
): AsyncGenerator<CsvBatch> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const parser = new CsvParser(options.delimiter);
  let bytesRead = 0;
  const decode = (chunk: Buffer | undefined): string => {
    try {
      return chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true });
    } catch {
      throw new CsvInputError(
        `the file is not valid UTF-8 (bad bytes within the first ${bytesRead} bytes); save it as UTF-8 and try again.`,
      );
    }
  };
  const parse = (chunk: Buffer | undefined): CsvBatch | undefined => {
    const batch: CsvBatch = { records: [], lines: [], delimiter: ',' };
    parser.push(decode(chunk), chunk === undefined, batch.records, batch.lines);
    batch.delimiter = parser.delimiter ?? ',';
    return batch.records.length > 0 ? batch : undefined;
  };
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    bytesRead += bytes.length;
    const batch = parse(bytes);
    if (batch) yield batch;
  }
  const last = parse(undefined);
  if (last) yield last;
}

/** Like readCsvBatches, without the raw lines. */
export async function* readCsvRecords(
  input: Readable | AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  options: CsvReadOptions = {},
): AsyncGenerator<string[][]> {
  for await (const batch of readCsvBatches(input, options)) yield batch.records;
}
