/**
 * What the start of a file says about it before it is read as CSV: an archive, a workbook, an
 * image, UTF-16 text or binary data is not CSV text, and the same words explain it in the API and
 * the CLI.
 */

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

/** Bytes from the start of a file that tell whether it is text at all. */
export const KIND_SNIFF_BYTES = 8192;

/** What the API says of a file with a header row and nothing under it; the CLI says the same. */
export const NO_ROWS_MESSAGE = 'The file has a header row but no customer rows below it.';

/**
 * Why the start of a file shows it is not CSV text (an archive, a workbook, an image, UTF-16,
 * binary data), with the code the API answers it with; undefined when it may be CSV.
 */
export function notCsvText(
  head: Buffer,
): { code: 'unsupported_media_type' | 'invalid_encoding'; message: string } | undefined {
  for (const [kind, signature] of BINARY_SIGNATURES) {
    if (signature.every((byte, i) => head[i] === byte)) {
      return {
        code: 'unsupported_media_type',
        message: `The file is ${kind}, not CSV. ${NOT_CSV_HINT}`,
      };
    }
  }
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
    return { code: 'invalid_encoding', message: UTF16_MESSAGE };
  }
  if (head.includes(0)) {
    if (looksLikeUtf16(head)) return { code: 'invalid_encoding', message: UTF16_MESSAGE };
    return {
      code: 'unsupported_media_type',
      message: `The file contains binary data, not CSV text. ${NOT_CSV_HINT}`,
    };
  }
  return undefined;
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
