/**
 * The reasons cells of the results file (`top_reasons`, `protective_factors`) as text and as
 * UTF-8 written straight into the output. This runs for every scored row, so phrases are cached
 * by the cell's raw text, and a plain number's phrase ("MonthlyCharges is 89.10: strongly raises
 * risk (+1.26)") is put together from bytes cached per column and per contribution: a number's
 * values vary too much for a cache of whole phrases (most would miss and build new strings).
 */
import { type ByteOutput, utf8Bytes } from './byte-output.js';
import { csvCell } from './csv-writer.js';
import type { ModelColumn } from './model-file.js';
import { formatContribution, phraseReason, strengthWords, valueLabel } from './reasons.js';
import { isMissing } from './values.js';

const RAW_CACHE_LIMIT = 256;
const SEPARATOR = '; ';

/** What a reason is about, as the scorer reads a record. */
export interface ReasonSource {
  /** The record's raw text in model column `index`. */
  rawValue(record: readonly string[], index: number): string;
  /** "Contract is Month-to-month": what `record` says in model column `index`. */
  reasonLabel(record: readonly string[], index: number): string;
}

interface Phrase {
  contribution: number;
  text: string;
  /** `csvCell(text) === text`: no comma, quote or line break, no formula start. */
  plain: boolean;
  /** The text as UTF-8, for a phrase that is cached (so written many times); else undefined. */
  bytes: Uint8Array | undefined;
}

/** A phrase put together from bytes (see ReasonCells.composed) rather than a Phrase. */
const COMPOSED = undefined;

/** Any of `"` `,` CR LF: a character that makes a cell need quotes (csv-writer's NEEDS_QUOTES). */
function needsQuotes(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22 || code === 0x2c || code === 0x0d || code === 0x0a) return true;
  }
  return false;
}

export class ReasonCells {
  /** Per model column: a reason's whole phrase by raw text, with the contribution it was for. */
  private readonly caches: Array<Map<string, Phrase>>;
  /**
   * Per model column: "MonthlyCharges is " as UTF-8 when the column's phrases read
   * `${name} is ${raw.trim()}: …` (a number, not a date) and its name keeps them plain CSV.
   */
  private readonly prefixes: Array<Uint8Array | undefined>;
  /** ": strongly raises risk (+1.26)" as UTF-8, by signed hundredths (see suffixKey). */
  private readonly suffixes = new Map<number, Uint8Array>();
  /** The phrases of the cell being written; COMPOSED where the phrase is put together. */
  private readonly picked: Array<Phrase | typeof COMPOSED> = [];
  /** Whether the last `text` was a CSV cell as it is. */
  private plain = true;

  constructor(
    columns: readonly ModelColumn[],
    private readonly source: ReasonSource,
  ) {
    this.caches = columns.map(() => new Map());
    this.prefixes = columns.map((column) => {
      if (column.kind !== 'numeric' || column.source?.kind === 'date') return undefined;
      // The name decides whether every such phrase with a plain value is a plain cell: its first
      // character (a formula start?) and its quote, comma or line break characters.
      const probe = phraseReason(valueLabel(column.name, '0'), 1);
      return csvCell(probe) === probe ? utf8Bytes(`${column.name} is `) : undefined;
    });
  }

  /** The first `count` columns of `picked` as text: "tenure is 1: strongly raises risk (+1.23); …". */
  text(
    record: readonly string[],
    contributions: Float64Array,
    picked: Int32Array,
    count: number,
  ): string {
    let text = '';
    let plain = true;
    for (let k = 0; k < count; k++) {
      const i = picked[k] as number;
      if (k > 0) text += SEPARATOR;
      const phrase = this.phrase(record, i, contributions[i] as number);
      text += phrase.text;
      plain &&= phrase.plain;
    }
    this.plain = plain;
    return text;
  }

  /**
   * `text` as an output cell. Phrases that need no quoting joined by "; " need none either, so
   * the usual row skips scanning its reasons again.
   */
  cell(
    record: readonly string[],
    contributions: Float64Array,
    picked: Int32Array,
    count: number,
  ): string {
    const text = this.text(record, contributions, picked, count);
    return this.plain ? text : csvCell(text);
  }

  /** `cell` written to `out` as UTF-8, from cached bytes: no string is built for the usual row. */
  write(
    out: ByteOutput,
    record: readonly string[],
    contributions: Float64Array,
    picked: Int32Array,
    count: number,
  ): void {
    const phrases = this.picked;
    let plain = true;
    for (let k = 0; k < count; k++) {
      const i = picked[k] as number;
      if (this.composable(record, i)) {
        phrases[k] = COMPOSED;
        continue;
      }
      const phrase = this.phrase(record, i, contributions[i] as number);
      phrases[k] = phrase;
      plain &&= phrase.plain;
    }
    if (!plain) {
      out.text(this.cell(record, contributions, picked, count));
      return;
    }
    for (let k = 0; k < count; k++) {
      if (k > 0) out.text(SEPARATOR);
      const phrase = phrases[k];
      if (phrase === COMPOSED) {
        const i = picked[k] as number;
        this.composed(out, record, i, contributions[i] as number);
      } else if (phrase.bytes) out.bytes(phrase.bytes);
      else out.text(phrase.text);
    }
  }

  /** Whether column `index`'s phrase for `record` is a plain number's, put together by `composed`. */
  private composable(record: readonly string[], index: number): boolean {
    if (this.prefixes[index] === undefined) return false;
    const raw = this.source.rawValue(record, index);
    return !isMissing(raw) && !needsQuotes(raw);
  }

  /** The bytes of phraseReason(valueLabel(name, raw), contribution), from cached parts. */
  private composed(
    out: ByteOutput,
    record: readonly string[],
    index: number,
    contribution: number,
  ): void {
    out.bytes(this.prefixes[index] as Uint8Array);
    out.text(this.source.rawValue(record, index).trim());
    // Words and number depend on the sign and the hundredths as written (see reasons.ts).
    const hundredths = Math.round(Math.abs(contribution) * 100);
    const key = contribution > 0 ? hundredths * 2 : hundredths * 2 + 1;
    let suffix = this.suffixes.get(key);
    if (suffix === undefined) {
      suffix = utf8Bytes(`: ${strengthWords(contribution)} (${formatContribution(contribution)})`);
      this.suffixes.set(key, suffix);
    }
    out.bytes(suffix);
  }

  private phrase(record: readonly string[], index: number, contribution: number): Phrase {
    const raw = this.source.rawValue(record, index);
    const cache = this.caches[index] as Map<string, Phrase>;
    const cached = cache.get(raw);
    // Checking the contribution keeps a cached phrase right for a family whose contributions
    // depend on more than the one cell.
    if (cached !== undefined && cached.contribution === contribution) return cached;
    const text = phraseReason(this.source.reasonLabel(record, index), contribution);
    const plain = csvCell(text) === text;
    if (cached === undefined && cache.size < RAW_CACHE_LIMIT) {
      const phrase = { contribution, text, plain, bytes: utf8Bytes(text) };
      cache.set(raw, phrase);
      return phrase;
    }
    return { contribution, text, plain, bytes: undefined };
  }
}
