import type { Readable } from 'node:stream';
import { CsvInputError } from './errors.js';

export type Delimiter = ',' | ';' | '\t';

/** A record longer than this is refused, so one broken quote cannot make memory unbounded. */
export const MAX_RECORD_CHARS = 1 << 20;

const QUOTE = 34;
const LF = 10;
const CR = 13;

const COMMA = 44;
const SEMICOLON = 59;
const TAB = 9;

/** Where a scan stopped: at `end`, or it needs more text, or the record is longer than allowed. */
type Scan<T> = T | 'pending' | 'too-long';

/**
 * Delimiter counts outside quotes in the header's first record, by a rule that needs no delimiter
 * yet: a quote opens at a field start for any of the three (line start, or after `,` `;` tab
 * outside quotes), `""` in a quoted field is an escaped quote. A stray quote mid-field is text.
 * Counts are taken up to the first newline outside quotes; when that lies beyond the hold limit,
 * up to the first newline at all (a quote opened after a non-delimiter must not refuse the file).
 */
type Counts = [comma: number, semicolon: number, tab: number];

function delimiterCounts(text: string, start: number, final: boolean): Scan<Counts> {
  const limit = Math.min(text.length, MAX_RECORD_CHARS);
  const counts: Counts = [0, 0, 0];
  let lineCounts: Counts | undefined;
  let quoted = false;
  let fieldStart = true;
  for (let i = start; i < limit; i++) {
    const code = text.charCodeAt(i);
    if (quoted) {
      if (code === LF) lineCounts ??= [...counts];
      else if (code === QUOTE) {
        if (i + 1 >= text.length && !final) return 'pending';
        if (text.charCodeAt(i + 1) === QUOTE) i++;
        else quoted = false;
      }
      continue;
    }
    if (code === LF) return counts;
    if (code === QUOTE && fieldStart) {
      quoted = true;
      fieldStart = false;
      continue;
    }
    fieldStart = code === COMMA || code === SEMICOLON || code === TAB;
    if (code === COMMA) counts[0]++;
    else if (code === SEMICOLON) counts[1]++;
    else if (code === TAB) counts[2]++;
  }
  if (text.length > MAX_RECORD_CHARS) return lineCounts ?? 'too-long';
  return final ? counts : 'pending';
}

const pickDelimiter = ([comma, semicolon, tab]: Counts): Delimiter => {
  if (tab > Math.max(comma, semicolon)) return '\t';
  return semicolon > comma ? ';' : ',';
};

/**
 * Picks the delimiter that occurs most often (outside quotes) in the header line; comma wins a tie,
 * then semicolon. Quotes are read as in `findHeader`.
 */
export function detectDelimiter(headerLine: string): Delimiter {
  const counts = delimiterCounts(headerLine, 0, true);
  return typeof counts === 'string' ? ',' : pickDelimiter(counts);
}

/**
 * Where CsvParser ends the record starting at `start` with `delimiter`: the index of its
 * terminating LF (or text.length at the end of the file). A quote opens only at a field start;
 * `""` inside a quoted field is an escaped quote; after the closing quote the rest of the field
 * is text up to a delimiter or newline.
 */
function recordEnd(
  text: string,
  start: number,
  delimiter: Delimiter,
  final: boolean,
): Scan<number> {
  const delimiterCode = delimiter.charCodeAt(0);
  const limit = Math.min(text.length, MAX_RECORD_CHARS);
  let quoted = false;
  let fieldStart = true;
  for (let i = start; i < limit; i++) {
    const code = text.charCodeAt(i);
    if (quoted) {
      if (code === QUOTE) {
        if (i + 1 >= text.length && !final) return 'pending';
        if (text.charCodeAt(i + 1) === QUOTE) i++;
        else quoted = false;
      }
      continue;
    }
    if (code === LF) return i;
    if (code === QUOTE && fieldStart) quoted = true;
    fieldStart = code === delimiterCode;
  }
  if (text.length > MAX_RECORD_CHARS) return 'too-long';
  return final ? text.length : 'pending';
}

export interface HeaderLine {
  delimiter: Delimiter;
  /** Where the header record starts (after blank lines, which CsvParser skips). */
  start: number;
  /** The index of the LF that ends the header record, or text.length when the file ends first. */
  end: number;
}

/**
 * Finds the header record in the start of a decoded file the way CsvParser reads it, and the
 * delimiter it uses: 'pending' while more text is needed, 'too-long' when the header record does
 * not end within the first MAX_RECORD_CHARS characters (the most text either caller holds before
 * it knows the delimiter). `final` says `text` is the whole file. The CSV reader and the upload
 * sniffer both decide with this, so what one accepts the other reads.
 */
export function findHeader(text: string, final: boolean): HeaderLine | 'pending' | 'too-long' {
  // Blank lines ("" or a lone CR) before the header are skipped, as CsvParser skips them.
  let start = 0;
  for (;;) {
    const newline = text.indexOf('\n', start);
    if (newline === -1 || newline > start + 1) break;
    if (newline === start + 1 && text.charCodeAt(start) !== CR) break;
    start = newline + 1;
  }
  const counts = delimiterCounts(text, start, final);
  if (typeof counts === 'string') return counts;
  const delimiter = pickDelimiter(counts);
  const end = recordEnd(text, start, delimiter, final);
  if (typeof end === 'string') return end;
  return { delimiter, start, end };
}

const recordTooLong = (row: number) =>
  new CsvInputError(
    `row ${row} is longer than ${MAX_RECORD_CHARS.toLocaleString('en-US')} characters, more than any customer record needs (a huge cell, or a quoted field that is never closed).`,
  );

/**
 * Receives one parsed record, its raw text when it had no quotes (else undefined) and where that
 * text starts in the parsed text (counted from what was pending before this push's text).
 */
export type RecordSink = (fields: string[], line: string | undefined, start: number) => void;

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
    this.parse(text, final, (fields, line) => {
      out.push(fields);
      lines?.push(line);
    });
  }

  /**
   * Like `push`, but hands each record to `sink` as soon as it is parsed, so a caller that is
   * done with a record before the next one keeps nothing alive: the scoring threads use this to
   * let every per-row string die young (cheap for the garbage collector).
   */
  parse(text: string, final: boolean, sink: RecordSink): void {
    const buffer = this.pending.length > 0 ? this.pending + text : text;
    this.pending = '';
    let delimiter = this.delimiter;
    if (delimiter === undefined) {
      const header = findHeader(buffer, final);
      if (header === 'too-long') throw recordTooLong(1);
      if (header === 'pending') {
        this.pending = buffer;
        return;
      }
      delimiter = header.delimiter;
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
          this.recordsSeen++;
          sink(line.split(delimiter), line, pos);
        }
        pos = lineEnd + 1;
        continue;
      }
      const next = this.parseQuotedRecord(buffer, pos, delimiter, final, sink);
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
    sink: RecordSink,
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
        this.recordsSeen++;
        sink(fields, undefined, start);
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
