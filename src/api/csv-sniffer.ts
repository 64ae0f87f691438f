import { Transform, type TransformCallback } from 'node:stream';
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

/**
 * Passes an upload through unchanged while checking that it is CSV text and counting its records:
 * binary content (archives, workbooks, images, NUL bytes) and invalid UTF-8 fail with 415, an
 * empty or header-only file with 422. Records are counted outside quotes, so a quoted field with
 * an embedded newline stays one record.
 */
export class CsvSniffer extends Transform {
  private sniffed = false;
  private head: Buffer[] = [];
  private headBytes = 0;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  private inQuotes = false;
  private lineHasContent = false;
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
      this.utf8.decode(chunk, { stream: true });
      this.count(chunk);
      callback(null, chunk);
    } catch (error) {
      callback(toApiError(error));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (!this.sniffed) this.sniff();
      this.utf8.decode();
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
    if (head.includes(0)) {
      throw new ApiError(
        415,
        'unsupported_media_type',
        `The file contains binary data, not CSV text. ${NOT_CSV_HINT}`,
      );
    }
  }

  private count(chunk: Buffer): void {
    let inQuotes = this.inQuotes;
    let hasContent = this.lineHasContent;
    let records = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (byte === QUOTE) {
        inQuotes = !inQuotes;
        hasContent = true;
      } else if (byte === LF && !inQuotes) {
        if (hasContent) records++;
        hasContent = false;
      } else if (byte !== CR && byte !== 0x20 && byte !== 0x09 && byte !== 0x2c && byte !== 0x3b) {
        // A line of only separators or blanks is an empty record, as spreadsheets export them.
        hasContent = true;
      }
    }
    this.inQuotes = inQuotes;
    this.lineHasContent = hasContent;
    this.records += records;
  }
}

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
