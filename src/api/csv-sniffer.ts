import { Transform, type TransformCallback } from 'node:stream';
import { findHeader, MAX_RECORD_CHARS } from '../model/csv-reader.js';
import { ApiError } from './errors.js';

const SNIFF_BYTES = 8192;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

const BINARY_SIGNATURES: ReadonlyArray<[string, number[]]> = [
  ['a ZIP archive (an .xlsx workbook is one)', [0x50, 0x4b, 0x03, 0x04]],
  ['a gzip archive', [0x1f, 0x8b]],
  ['a PDF document', [0x25, 0x50, 0x44, 0x46]],
  ['an old Excel workbook (.xls)', [0xd0, 0xcf, 0x11, 0xe0]],
  ['a PNG image', [0x89, 0x50, 0x4e, 0x47]],
];

export const NOT_CSV_HINT =
  'Upload a CSV file as UTF-8 text with a header row (in Excel: File > Save As > "CSV UTF-8").';

const UTF16_MESSAGE = `The file is UTF-16 text (Excel's "Unicode Text"), not UTF-8. ${NOT_CSV_HINT}`;

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

  /** Data rows: records after the header. Valid once the stream has ended. */
  get rowCount(): number {
    return Math.max(0, this.records - 1);
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
        throw new ApiError(
          422,
          'no_rows',
          'The file has a header row but no customer rows below it.',
        );
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
    for (const [kind, signature] of BINARY_SIGNATURES) {
      if (signature.every((byte, i) => head[i] === byte)) {
        throw new ApiError(
          415,
          'unsupported_media_type',
          `The file is ${kind}, not CSV. ${NOT_CSV_HINT}`,
        );
      }
    }
    if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
      throw new ApiError(415, 'invalid_encoding', UTF16_MESSAGE);
    }
    if (head.includes(0)) {
      if (looksLikeUtf16(head)) throw new ApiError(415, 'invalid_encoding', UTF16_MESSAGE);
      throw new ApiError(
        415,
        'unsupported_media_type',
        `The file contains binary data, not CSV text. ${NOT_CSV_HINT}`,
      );
    }
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
  }
}

/** Mostly NUL bytes at odd (little-endian) or even (big-endian) offsets: ASCII text in UTF-16. */
function looksLikeUtf16(head: Buffer): boolean {
  const pairs = Math.floor(head.length / 2);
  if (pairs < 2) return false;
  let evenNuls = 0;
  let oddNuls = 0;
  for (let i = 0; i < pairs * 2; i += 2) {
    if (head[i] === 0) evenNuls++;
    if (head[i + 1] === 0) oddNuls++;
  }
  return Math.max(evenNuls, oddNuls) >= 0.8 * pairs && Math.min(evenNuls, oddNuls) === 0;
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
