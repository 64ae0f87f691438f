/**
 * The rows index of a results CSV: for every output row its byte range in the file, its
 * probability and tier, and the orders that page it by risk and find it by customer id, so the
 * API can serve any page with a few ranged reads instead of streaming the whole file.
 *
 * Binary, little-endian (the byte order of every platform Node runs the service on), version 2:
 *
 *   64-byte header: "CLRI", u16 version, u16 header size, u32 rows, u32 CSV header bytes,
 *                   f64 results CSV bytes, u32 id text bytes, zeros
 *   sections, each at a multiple of 8 bytes:
 *     the results CSV's header line        (UTF-8)
 *     lengths        u32 × rows            bytes of each row's line(s); offsets are their sums
 *     probabilities  u16 × rows            ten-thousandths as written; 0xFFFF: not scored
 *     tiers          u8  × rows            1 high, 2 medium, 3 low; 0: not scored
 *     byProbability  u32 × rows            rows by probability, highest first, then by row;
 *                                          rows not scored last, by row
 *     idOrder        u32 × rows            rows by lower-cased customer id (UTF-8 bytes), then row
 *     idStarts       u32 × (rows + 1)      where the k-th id of idOrder starts in the id text
 *     id text        UTF-8                 the lower-cased ids, in idOrder
 *     byLoss         u32 × rows            rows by expected monthly loss (probability × revenue),
 *                                          highest first, then by row; rows without one last, by
 *                                          row (version 2; version 1 indexes have no such order)
 *     previous       u16 × rows            the customer's probability in the previous prediction
 *                                          with the same model; 0xFFFF: none (version 3)
 *     changes        u8  × rows            how its tier moved since (src/history/changes.ts);
 *                                          0: no id, no score or nothing compared (version 3)
 *
 * Rows are numbered from 0 here; the API shows them from 1.
 */
import { PROBABILITY_SCALE } from '../model/score-batch.js';

export const ROWS_INDEX_MAGIC = 'CLRI';
export const ROWS_INDEX_VERSION = 3;
const HEADER_BYTES = 64;
export const UNSCORED = 0xffff;

export interface RowsIndex {
  readonly rows: number;
  /** The results CSV's header line, with its newline. */
  readonly header: string;
  /** Size of the results CSV this index describes. */
  readonly csvBytes: number;
  /** Start of row i at [i], end at [i + 1]. */
  readonly offsets: Float64Array;
  readonly probabilities: Uint16Array;
  readonly tiers: Uint8Array;
  readonly byProbability: Uint32Array;
  /** Rows per probability value (index 0..PROBABILITY_SCALE). */
  readonly levelCounts: Uint32Array;
  /** Where each probability value's rows start in byProbability. */
  readonly levelStarts: Uint32Array;
  /** Rows not scored / high / medium / low. */
  readonly tierCounts: readonly [number, number, number, number];
  readonly idOrder: Uint32Array;
  readonly idStarts: Uint32Array;
  readonly idText: Uint8Array;
  /** Rows by expected loss (see the format); null in a version 1 index. */
  readonly byLoss: Uint32Array | null;
  /** Previous probability and change per row (see the format); null before version 3. */
  readonly previous: Uint16Array | null;
  readonly changes: Uint8Array | null;
  /** Memory held, for the cache's budget. */
  readonly memoryBytes: number;
}

/** The parts the builder has; the rest is derived on decode. */
export interface RowsIndexParts {
  header: string;
  lengths: Uint32Array;
  probabilities: Uint16Array;
  tiers: Uint8Array;
  byProbability: Uint32Array;
  idOrder: Uint32Array;
  idStarts: Uint32Array;
  idText: Uint8Array;
  byLoss: Uint32Array;
  previous: Uint16Array;
  changes: Uint8Array;
}

/** A stored index this version cannot read (or that is damaged): serve without it. */
export class RowsIndexFormatError extends Error {
  override name = 'RowsIndexFormatError';
}

const align = (n: number) => Math.ceil(n / 8) * 8;

function sectionSizes(
  rows: number,
  headerBytes: number,
  idTextBytes: number,
  version: number,
): number[] {
  const sizes = [headerBytes, 4 * rows, 2 * rows, rows, 4 * rows, 4 * rows, 4 * (rows + 1)];
  sizes.push(idTextBytes);
  if (version >= 2) sizes.push(4 * rows);
  if (version >= 3) sizes.push(2 * rows, rows);
  return sizes;
}

export function encodeRowsIndex(parts: RowsIndexParts): Buffer {
  const rows = parts.lengths.length;
  const header = Buffer.from(parts.header, 'utf8');
  const sizes = sectionSizes(rows, header.length, parts.idText.length, ROWS_INDEX_VERSION);
  const total = sizes.reduce((sum, size) => sum + align(size), HEADER_BYTES);
  const out = Buffer.alloc(total);
  out.write(ROWS_INDEX_MAGIC, 0, 'latin1');
  out.writeUInt16LE(ROWS_INDEX_VERSION, 4);
  out.writeUInt16LE(HEADER_BYTES, 6);
  out.writeUInt32LE(rows, 8);
  out.writeUInt32LE(header.length, 12);
  let csvBytes = header.length;
  for (const length of parts.lengths) csvBytes += length;
  out.writeDoubleLE(csvBytes, 16);
  out.writeUInt32LE(parts.idText.length, 24);
  const sections: Uint8Array[] = [
    header,
    parts.lengths,
    parts.probabilities,
    parts.tiers,
    parts.byProbability,
    parts.idOrder,
    parts.idStarts,
    parts.idText,
    parts.byLoss,
    parts.previous,
    parts.changes,
  ].map((array) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  let at = HEADER_BYTES;
  sections.forEach((bytes, i) => {
    out.set(bytes, at);
    at += align(sizes[i] as number);
  });
  return out;
}

export function decodeRowsIndex(stored: Uint8Array): RowsIndex {
  // Typed-array views need aligned offsets; a freshly read buffer normally is.
  const bytes = stored.byteOffset % 8 === 0 ? stored : Uint8Array.from(stored);
  const fail = (why: string): never => {
    throw new RowsIndexFormatError(`rows index: ${why}`);
  };
  if (bytes.length < HEADER_BYTES) fail('shorter than its header');
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (head.toString('latin1', 0, 4) !== ROWS_INDEX_MAGIC) fail('not a rows index');
  const version = head.readUInt16LE(4);
  if (version < 1 || version > ROWS_INDEX_VERSION) {
    fail(`version ${version}, this build reads 1 to ${ROWS_INDEX_VERSION}`);
  }
  const rows = head.readUInt32LE(8);
  const headerBytes = head.readUInt32LE(12);
  const csvBytes = head.readDoubleLE(16);
  const idTextBytes = head.readUInt32LE(24);
  const sizes = sectionSizes(rows, headerBytes, idTextBytes, version);
  const total = sizes.reduce((sum, size) => sum + align(size), head.readUInt16LE(6));
  if (total !== bytes.length) fail(`${bytes.length} bytes where its header implies ${total}`);
  let at = HEADER_BYTES;
  const next = (i: number) => {
    const start = bytes.byteOffset + at;
    at += align(sizes[i] as number);
    return start;
  };
  const buffer = bytes.buffer;
  const header = Buffer.from(buffer, next(0), headerBytes).toString('utf8');
  const lengths = new Uint32Array(buffer, next(1), rows);
  const probabilities = new Uint16Array(buffer, next(2), rows);
  const tiers = new Uint8Array(buffer, next(3), rows);
  const byProbability = new Uint32Array(buffer, next(4), rows);
  const idOrder = new Uint32Array(buffer, next(5), rows);
  const idStarts = new Uint32Array(buffer, next(6), rows + 1);
  const idText = new Uint8Array(buffer, next(7), idTextBytes);
  const byLoss = version >= 2 ? new Uint32Array(buffer, next(8), rows) : null;
  const previous = version >= 3 ? new Uint16Array(buffer, next(9), rows) : null;
  const changes = version >= 3 ? new Uint8Array(buffer, next(10), rows) : null;

  const offsets = new Float64Array(rows + 1);
  offsets[0] = headerBytes;
  for (let i = 0; i < rows; i++) offsets[i + 1] = (offsets[i] as number) + (lengths[i] as number);
  if (offsets[rows] !== csvBytes) fail('row lengths do not add up to the results size');
  const levelCounts = new Uint32Array(PROBABILITY_SCALE + 1);
  const tierCounts: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < rows; i++) {
    const p = probabilities[i] as number;
    if (p !== UNSCORED) {
      if (p > PROBABILITY_SCALE) fail(`row ${i} has probability ${p}`);
      (levelCounts[p] as number)++;
    }
    const tier = tiers[i] as number;
    if (tier > 3) fail(`row ${i} has tier ${tier}`);
    if (changes && (changes[i] as number) > 5) fail(`row ${i} has change ${changes[i]}`);
    tierCounts[tier as 0 | 1 | 2 | 3]++;
  }
  const levelStarts = new Uint32Array(PROBABILITY_SCALE + 1);
  let position = 0;
  for (let p = PROBABILITY_SCALE; p >= 0; p--) {
    levelStarts[p] = position;
    position += levelCounts[p] as number;
  }
  // A damaged order would send reads anywhere: check every entry once, on load (about 1 ms a
  // million rows).
  for (let i = 0; i < rows; i++) {
    if (
      (byProbability[i] as number) >= rows ||
      (idOrder[i] as number) >= rows ||
      (byLoss && (byLoss[i] as number) >= rows)
    ) {
      fail(`order entry ${i} is past the last row`);
    }
    if ((idStarts[i] as number) > (idStarts[i + 1] as number))
      fail(`id ${i} ends before it starts`);
  }
  if (idStarts[rows] !== idTextBytes) fail('id starts do not end at the id text size');
  return {
    rows,
    header,
    csvBytes,
    offsets,
    probabilities,
    tiers,
    byProbability,
    levelCounts,
    levelStarts,
    tierCounts,
    idOrder,
    idStarts,
    idText,
    byLoss,
    previous,
    changes,
    memoryBytes: bytes.byteLength + offsets.byteLength + 8 * (PROBABILITY_SCALE + 1),
  };
}
