/**
 * Builds the rows index (rows-index.ts) from the facts the scorer reports as it writes the
 * results, so the index costs no second read of the file. Memory is a few bytes per row plus
 * the ids' bytes; the orders are computed once at the end.
 */

import { type HistoryBucket, historyBuckets } from '../history/buckets.js';
import {
  type ChangeCounts,
  compareWithPrevious,
  NO_PREVIOUS,
  type SortedIds,
} from '../history/changes.js';
import { PROBABILITY_SCALE, type RowFacts, type RowSink } from '../model/score-batch.js';
import { Growable } from './growable.js';
import { sortIds } from './id-sort.js';
import { lossOrder } from './loss-order.js';
import { encodeRowsIndex, type RowsIndex, UNSCORED } from './rows-index.js';

/**
 * Longest id kept, in bytes. A prefix query is at most 200 characters, so at most 1,200 bytes
 * lower-cased: cutting longer ids here never changes which rows a prefix matches.
 */
export const MAX_ID_BYTES = 2048;

const PART_MAGIC = 'CLRP';
/** A part starts with its magic, its row count, its header line's bytes and its id bytes. */
export const PART_HEAD_BYTES = 16;

/** How many bytes after the head hold the part's header line (its first section). */
export function partHeaderBytes(head: Uint8Array): number {
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (bytes.byteLength < PART_HEAD_BYTES || bytes.toString('latin1', 0, 4) !== PART_MAGIC) {
    throw new Error('a part of the rows is not a rows part (encodePart)');
  }
  return bytes.readUInt32LE(8);
}

export class RowsIndexBuilder implements RowSink {
  private headerLine = '';
  private readonly lengths = new Growable((n) => new Uint32Array(n));
  private readonly probabilities = new Growable((n) => new Uint16Array(n));
  private readonly tiers = new Growable((n) => new Uint8Array(n));
  private readonly idStarts = new Growable((n) => new Uint32Array(n));
  private readonly idText = new Growable((n) => new Uint8Array(n));
  private readonly losses = new Growable((n) => new Float64Array(n));
  private sorted: SortedIds | undefined;
  /** After finish() with a previous index: how the customers moved since it. */
  changes: Omit<ChangeCounts, 'previousPredictionId'> | null = null;
  /** Time spent on the customer history: comparing with the previous index, making buckets. */
  historyMs = 0;

  constructor() {
    this.idStarts.push(0);
  }

  header(line: string): void {
    this.headerLine = line;
  }

  /** The results file's header line, with its newline. */
  get headerText(): string {
    return this.headerLine;
  }

  /**
   * The rows added so far, as one chunk of a file scored in chunks stores them (src/jobs/chunks.ts)
   * for `addPart` to join: the rows' own facts, before any order is computed.
   */
  encodePart(): Buffer {
    const header = Buffer.from(this.headerLine, 'utf8');
    const sections: ArrayBufferView[] = [
      header,
      this.lengths.view(),
      this.probabilities.view(),
      this.tiers.view(),
      this.losses.view(),
      this.idStarts.view(),
      this.idText.view(),
    ];
    const head = Buffer.alloc(PART_HEAD_BYTES);
    head.write(PART_MAGIC, 0, 'latin1');
    head.writeUInt32LE(this.lengths.length, 4);
    head.writeUInt32LE(header.length, 8);
    head.writeUInt32LE(this.idText.length, 12);
    const padded = (view: ArrayBufferView) => {
      const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
      const pad = (8 - (view.byteLength % 8)) % 8;
      return pad === 0 ? [bytes] : [bytes, Buffer.alloc(pad)];
    };
    return Buffer.concat([head, ...sections.flatMap(padded)]);
  }

  /**
   * Appends the rows of a part (encodePart) after those it holds; the first part added gives the
   * header line.
   */
  addPart(part: Uint8Array): void {
    const stored = Buffer.from(part.buffer, part.byteOffset, part.byteLength);
    const headerBytes = partHeaderBytes(stored);
    const rows = stored.readUInt32LE(4);
    // Typed-array views need aligned offsets: copied once into a fresh, aligned buffer.
    const data = new Uint8Array(stored.byteLength);
    data.set(stored);
    let at = PART_HEAD_BYTES;
    const take = <T>(bytes: number, view: (offset: number) => T): T => {
      const taken = view(at);
      at += Math.ceil(bytes / 8) * 8;
      return taken;
    };
    const header = take(headerBytes, (o) => stored.toString('utf8', o, o + headerBytes));
    if (this.lengths.length === 0) this.header(header);
    this.lengths.append(take(4 * rows, (o) => new Uint32Array(data.buffer, o, rows)));
    this.probabilities.append(take(2 * rows, (o) => new Uint16Array(data.buffer, o, rows)));
    this.tiers.append(take(rows, (o) => new Uint8Array(data.buffer, o, rows)));
    this.losses.append(take(8 * rows, (o) => new Float64Array(data.buffer, o, rows)));
    const starts = take(4 * (rows + 1), (o) => new Uint32Array(data.buffer, o, rows + 1));
    const idBytes = stored.readUInt32LE(12);
    const text = take(idBytes, (o) => new Uint8Array(data.buffer, o, idBytes));
    const base = this.idText.length;
    for (let row = 1; row <= rows; row++) this.idStarts.push(base + (starts[row] as number));
    this.idText.append(text);
  }

  add(rows: RowFacts): void {
    for (let i = 0; i < rows.bytes.length; i++) {
      this.lengths.push(rows.bytes[i] as number);
      const probability = rows.probabilities[i] as number;
      this.probabilities.push(probability < 0 ? UNSCORED : probability);
      this.tiers.push(rows.tiers[i] as number);
      this.addId(rows.ids[i] ?? '');
      this.losses.push(rows.losses[i] ?? Number.NaN);
    }
  }

  private addId(id: string): void {
    if (id.length > 0) {
      const lower = id.toLowerCase();
      const text = this.idText.reserve(3 * lower.length);
      const buffer = Buffer.from(text.buffer, text.byteOffset, text.byteLength);
      let written = buffer.write(lower, this.idText.length, 'utf8');
      if (written > MAX_ID_BYTES) {
        written = MAX_ID_BYTES;
        // Never end inside a character: step back over continuation bytes (10xxxxxx).
        while (written > 0 && ((text[this.idText.length + written] as number) & 0xc0) === 0x80) {
          written--;
        }
      }
      this.idText.length += written;
    }
    this.idStarts.push(this.idText.length);
  }

  /**
   * The encoded index, with each customer compared to the previous prediction's index when one is
   * given; afterwards only history() may be called.
   */
  finish(previous?: RowsIndex): Buffer {
    const probabilities = this.probabilities.view();
    const rows = probabilities.length;
    // Counting sort on the written probability: linear, and stable, so ties stay in row order.
    const starts = new Uint32Array(PROBABILITY_SCALE + 2);
    for (let i = 0; i < rows; i++) {
      const p = probabilities[i] as number;
      (starts[p === UNSCORED ? PROBABILITY_SCALE + 1 : PROBABILITY_SCALE - p] as number)++;
    }
    let position = 0;
    for (let slot = 0; slot < starts.length; slot++) {
      const count = starts[slot] as number;
      starts[slot] = position;
      position += count;
    }
    const byProbability = new Uint32Array(rows);
    for (let i = 0; i < rows; i++) {
      const p = probabilities[i] as number;
      byProbability[
        (starts[p === UNSCORED ? PROBABILITY_SCALE + 1 : PROBABILITY_SCALE - p] as number)++
      ] = i;
    }
    const rowIdStarts = this.idStarts.view();
    const rowIdText = this.idText.view();
    const idOrder = sortIds(rowIdText, rowIdStarts);
    // The id text is stored in idOrder, so a prefix search reads it in sorted order.
    const idStarts = new Uint32Array(rows + 1);
    const idText = new Uint8Array(rowIdText.length);
    let at = 0;
    for (let k = 0; k < rows; k++) {
      const row = idOrder[k] as number;
      const id = rowIdText.subarray(rowIdStarts[row], rowIdStarts[row + 1]);
      idStarts[k] = at;
      idText.set(id, at);
      at += id.length;
    }
    idStarts[rows] = at;
    const tiers = this.tiers.view();
    this.sorted = { rows, idOrder, idStarts, idText, probabilities, tiers };
    let compared: { previous: Uint16Array; changes: Uint8Array };
    if (previous) {
      const started = performance.now();
      const result = compareWithPrevious(this.sorted, previous);
      this.historyMs += performance.now() - started;
      // No customer compared (a file without ids): nothing to say, rather than all zeros.
      const { counts } = result;
      const customers =
        counts.new + counts.newlyHighRisk + counts.worsened + counts.improved + counts.unchanged;
      this.changes = customers > 0 ? counts : null;
      compared = result;
    } else {
      compared = {
        previous: new Uint16Array(rows).fill(NO_PREVIOUS),
        changes: new Uint8Array(rows),
      };
    }
    return encodeRowsIndex({
      ...compared,
      byLoss: lossOrder(this.losses.view()),
      header: this.headerLine,
      lengths: this.lengths.view(),
      probabilities,
      tiers,
      byProbability,
      idOrder,
      idStarts,
      idText,
    });
  }

  /** The customers' history rows, after finish(). */
  history(): HistoryBucket[] {
    if (!this.sorted) throw new Error('history() before finish()');
    const started = performance.now();
    const buckets = historyBuckets(this.sorted);
    this.historyMs += performance.now() - started;
    return buckets;
  }
}
