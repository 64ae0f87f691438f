import { Transform, type TransformCallback } from 'node:stream';
import { findHeader, MAX_RECORD_CHARS } from '../model/csv-reader.js';
import { NO_ROWS_MESSAGE, NOT_CSV_HINT, notCsvText } from '../model/file-kind.js';
import { ApiError } from './errors.js';

const SNIFF_BYTES = 8192;
/**
 * How far apart the record starts kept in `splits` are: fine enough that chunks of any size a
 * deployment chooses (SCORE_CHUNK_BYTES, at least this) end close to where it asked.
 */
export const SPLIT_EVERY_BYTES = 1 << 20;

export { NOT_CSV_HINT };

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** Where the counter is within a record, the way the CSV reader sees it (RFC 4180). */
const State = {
  FieldStart: 0,
  Unquoted: 1,
  Quoted: 2,
  /** A quote inside a quoted field: closes it, or escapes a second quote. */
  QuoteInQuoted: 3,
} as const;
type State = (typeof State)[keyof typeof State];

/**
 * Passes an upload through unchanged while checking that it is CSV text the worker can read and
 * counting its records: binary content (archives, workbooks, images, NUL bytes), UTF-16 and
 * invalid UTF-8 fail with 415; an empty or header-only file, a quoted field that is never closed
 * and a record longer than the reader accepts fail with 422. Quotes are read as the CSV reader
 * reads them (they open a field only at its start, in the delimiter detected from the header
 * line), so a stray `27" screen` neither hides the rows after it nor fails the upload.
 */
export class CsvSniffer extends Transform {
  private sniffed = false;
  private head: Buffer[] = [];
  private headBytes = 0;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  /** Bytes held until the header line is complete and the delimiter is known. */
  private uncounted: Buffer[] = [];
  /** The same, decoded (a byte order mark dropped), as the reader holds it. */
  private uncountedText = '';
  private delimiter: number | undefined;
  private state: State = State.FieldStart;
  private lineHasContent = false;
  /** Length of the current record in UTF-16 code units, as the reader measures it. */
  private recordChars = 0;
  private records = 0;
  /** Offset in the file of the next byte `count` sees. */
  private position = 0;
  private readonly recordStarts: number[] = [];
  private nextSplit = 0;

  /** `splitEvery`: how far apart the kept record starts are (tests use a few bytes). */
  constructor(private readonly splitEvery = SPLIT_EVERY_BYTES) {
    super();
  }

  /** Data rows: records after the header. Valid once the stream has ended. */
  get rowCount(): number {
    return Math.max(0, this.records - 1);
  }

  /**
   * Byte offsets where a record starts, outside any quoted field: the first after the header,
   * then the first after every SPLIT_EVERY_BYTES. Any range between two of them (or from one
   * to the end) is whole records, which the header line makes a CSV file of its own.
   */
  get splits(): readonly number[] {
    return this.recordStarts;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      if (!this.sniffed) {
        this.head.push(chunk);
        this.headBytes += chunk.length;
        if (this.headBytes >= SNIFF_BYTES) this.sniff();
      }
      let text: string;
      try {
        text = this.utf8.decode(chunk, { stream: true });
      } catch (error) {
        // Before the head is full: say what the file is (a workbook, UTF-16) if it is known.
        if (!this.sniffed) this.sniff();
        throw error;
      }
      this.countOrHold(chunk, text, false);
      callback(null, chunk);
    } catch (error) {
      callback(toApiError(error));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (!this.sniffed) this.sniff();
      this.countOrHold(undefined, this.utf8.decode(), true);
      if (this.state === State.Quoted) {
        throw new ApiError(
          422,
          'invalid_csv',
          `Row ${this.records + 1} has a quoted field that is never closed: the file ends inside it. Close the quote (") or remove it, then upload again.`,
        );
      }
      if (this.lineHasContent) this.records++;
      if (this.records === 0) {
        throw new ApiError(422, 'empty_file', `The file is empty. ${NOT_CSV_HINT}`);
      }
      if (this.records === 1) {
        throw new ApiError(422, 'no_rows', NO_ROWS_MESSAGE);
      }
      callback();
    } catch (error) {
      callback(toApiError(error));
    }
  }

  private sniff(): void {
    this.sniffed = true;
    const head = Buffer.concat(this.head).subarray(0, SNIFF_BYTES);
    this.head = [];
    const problem = notCsvText(head);
    if (problem) throw new ApiError(415, problem.code, problem.message);
  }

  /**
   * Counts `chunk` once the delimiter is known; until then holds it with the header line. The
   * header line and delimiter are decided by the reader's own `findHeader`, over the same decoded
   * text and with the same hold limit (in characters), so an upload passes here exactly when the
   * reader can find its header.
   */
  private countOrHold(chunk: Buffer | undefined, text: string, final: boolean): void {
    if (this.delimiter !== undefined) {
      if (chunk) this.count(chunk);
      return;
    }
    if (chunk) this.uncounted.push(chunk);
    this.uncountedText += text;
    const header = findHeader(this.uncountedText, final);
    if (header === 'too-long') throw rowTooLong(1);
    if (header === 'pending') return;
    this.delimiter = header.delimiter.charCodeAt(0);
    const held = Buffer.concat(this.uncounted);
    this.uncounted = [];
    this.uncountedText = '';
    // A byte order mark is no content: a file of only a BOM is empty, as the reader sees it.
    const bom = held[0] === 0xef && held[1] === 0xbb && held[2] === 0xbf;
    if (bom) this.position = 3;
    this.count(bom ? held.subarray(3) : held);
  }

  private count(chunk: Buffer): void {
    const delimiter = this.delimiter as number;
    let state: State = this.state;
    let hasContent = this.lineHasContent;
    let chars = this.recordChars;
    let records = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      // One UTF-16 unit per character, two for a four-byte (astral) one; continuations add none.
      if ((byte & 0xc0) !== 0x80) chars += byte >= 0xf0 ? 2 : 1;
      if (state === State.Quoted) {
        if (byte === QUOTE) state = State.QuoteInQuoted;
        continue;
      }
      if (byte === QUOTE) {
        hasContent = true;
        if (state === State.FieldStart) state = State.Quoted;
        else if (state === State.QuoteInQuoted) state = State.Quoted;
        continue;
      }
      if (byte === LF) {
        if (hasContent) records++;
        if (chars > MAX_RECORD_CHARS) throw rowTooLong(this.records + records);
        // After the header (the first record), at the first line end past the next split.
        if (this.position + i + 1 >= this.nextSplit && this.records + records > 0) {
          this.recordStarts.push(this.position + i + 1);
          this.nextSplit = this.position + i + 1 + this.splitEvery;
        }
        hasContent = false;
        chars = 0;
        state = State.FieldStart;
        continue;
      }
      if (byte === delimiter) {
        state = State.FieldStart;
      } else {
        state = State.Unquoted;
      }
      if (byte !== CR && byte !== 0x20 && byte !== 0x09 && byte !== 0x2c && byte !== 0x3b) {
        // A line of only separators or blanks is an empty record, as spreadsheets export them.
        hasContent = true;
      }
    }
    if (chars > MAX_RECORD_CHARS) throw rowTooLong(this.records + records + 1);
    this.state = state;
    this.lineHasContent = hasContent;
    this.recordChars = chars;
    this.records += records;
    this.position += chunk.length;
  }
}

const rowTooLong = (row: number) =>
  new ApiError(
    422,
    'row_too_long',
    `Row ${row} is longer than ${MAX_RECORD_CHARS.toLocaleString('en-US')} characters, more than any customer record needs (a huge cell, or a quote that is never closed). Fix that row and upload again.`,
  );

function toApiError(error: unknown): Error {
  if (error instanceof TypeError && /decode|encoded/i.test(error.message)) {
    return new ApiError(
      415,
      'invalid_encoding',
      `The file is not valid UTF-8 text. ${NOT_CSV_HINT}`,
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}
