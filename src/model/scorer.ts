/**
 * Scoring one record: every model column's exact contribution to the logit (coefficient × centred
 * value, summed over the column's features), the calibrated probability, the tier and the three
 * largest contributions as readable reasons.
 */
import { calibrate } from './calibration.js';
import { numericReader } from './column-plan.js';
import type { Delimiter } from './csv-reader.js';
import { applyTransform, type BinTable, binContribution, binTable } from './design.js';
import {
  type ColumnMapping,
  type FieldSynonyms,
  looksLikeIdentifier,
  mapColumns,
  matchColumns,
} from './headers.js';
import { type RiskTier, tierOf } from './metrics.js';
import type { CategoricalModelColumn, ModelColumn, ModelFile } from './model-file.js';
import { monthlyRevenueColumn } from './synonyms.js';
import { categoryKey, isMissing, parseBoolean, parseNumber } from './values.js';

const DAY_MS = 86_400_000;

export interface ScorerOptions {
  /** The file's delimiter: a semicolon-separated file is a comma-decimal export. */
  delimiter?: Delimiter;
  /** Dates are read as days before this instant (epoch days); default: now. */
  asOfDays?: number;
  /** The user's choices of column per model input, by input name (see `mapColumns`). */
  overrides?: Readonly<Record<string, string>>;
  /**
   * Score a file that lacks some of the model's inputs, each missing one counting as an average
   * customer's (no push either way), instead of refusing it. The user asks for this knowingly.
   */
  allowMissingInputs?: boolean;
}

/** What a value of an input reads as, for the fit report. */
export type ValueReading = 'missing' | 'ok' | 'unparseable' | 'unknown-category';

const RAW_CACHE_LIMIT = 256;

export class RowError extends Error {
  override name = 'RowError';
}

interface CategoricalTable {
  /** Contribution of each trained level, by key: the level's weight minus the centring. */
  contributions: Map<string, number>;
  labels: Map<string, string>;
}

function categoricalTable(column: CategoricalModelColumn): CategoricalTable {
  let centre = 0;
  for (const level of column.levels) centre += level.weight * level.frequency;
  return {
    contributions: new Map(column.levels.map((level) => [level.key, level.weight - centre])),
    labels: new Map(column.levels.map((level) => [level.key, level.label])),
  };
}

export interface ScoredRow {
  logit: number;
  probability: number;
  tier: RiskTier;
  /** One contribution per model column, in model order; with the intercept they sum to the logit. */
  contributions: Float64Array;
}

export function fieldsOf(model: ModelFile): FieldSynonyms[] {
  return model.columns.map((column) => ({ field: column.name, synonyms: column.synonyms }));
}

export function formatContribution(value: number): string {
  const rounded = value.toFixed(2);
  return value >= 0 || rounded === '-0.00' ? `+${rounded.replace('-', '')}` : rounded;
}

/** A model bound to one file's header: maps columns once, then scores records quickly. */
export class RecordScorer {
  readonly unusedColumns: string[];
  /** The column naming the customer (the first that looks like an identifier), or -1. */
  readonly idColumn: number;
  /** The column holding monthly revenue (see MONTHLY_REVENUE_SYNONYMS), or -1. */
  readonly revenueColumn: number;
  private readonly decimalComma: boolean;
  /** Rows whose value in a categorical column was not seen in training, by column. */
  readonly unknownCategories = new Map<string, number>();
  /** Input column of every model column; -1 for an input the file lacks (scored as average). */
  private readonly sourceIndexes: number[];
  readonly mapping: ColumnMapping;
  private readonly tables: Array<CategoricalTable | undefined>;
  private readonly contributions: Float64Array;
  /**
   * Per boolean/categorical column: contribution by exact raw text. Exports repeat a few
   * spellings millions of times, so this skips trimming and lower-casing; capped to stay small.
   */
  private readonly rawCaches: Array<Map<string, number>>;
  private readonly labelCaches: Array<Map<string, string>>;

  /** Per model column: its text as a number (plain, or days for dates and durations). */
  private readonly readers: Array<((raw: string) => number) | undefined>;
  /** Per numeric column with bins: each bin's contribution. */
  private readonly binTables: Array<BinTable | undefined>;

  constructor(
    private readonly model: ModelFile,
    readonly headers: readonly string[],
    options: ScorerOptions = {},
  ) {
    this.decimalComma = options.delimiter === ';';
    const asOfDays = options.asOfDays ?? Date.now() / DAY_MS;
    this.binTables = model.columns.map((column) =>
      column.kind === 'numeric' && column.bins ? binTable(column.bins) : undefined,
    );
    this.readers = model.columns.map((column) =>
      column.kind === 'numeric'
        ? numericReader(column.source, this.decimalComma, asOfDays)
        : undefined,
    );
    const mapping = (options.allowMissingInputs ? matchColumns : mapColumns)(
      headers,
      fieldsOf(model),
      options.overrides,
    );
    this.mapping = mapping;
    this.unusedColumns = mapping.unusedColumns;
    this.idColumn = headers.findIndex(looksLikeIdentifier);
    this.revenueColumn = monthlyRevenueColumn(headers);
    this.sourceIndexes = model.columns.map((column) => mapping.fieldColumns.get(column.name) ?? -1);
    this.tables = model.columns.map((column) =>
      column.kind === 'categorical' ? categoricalTable(column) : undefined,
    );
    this.contributions = new Float64Array(model.columns.length);
    this.rawCaches = model.columns.map(() => new Map<string, number>());
    this.labelCaches = model.columns.map(() => new Map<string, string>());
  }

  private contributionOf(column: ModelColumn, index: number, raw: string): number {
    if (column.kind === 'numeric') {
      if (isMissing(raw)) {
        const bins = this.binTables[index];
        return (
          (column.missing ? column.missing.weight * (1 - column.missing.mean) : 0) +
          (bins ? bins.blank : 0)
        );
      }
      const x = (this.readers[index] as (raw: string) => number)(raw);
      if (Number.isNaN(x)) {
        throw new RowError(
          `${column.name} is "${raw}", not ${column.source?.kind === 'date' ? 'a date' : column.source?.kind === 'duration' ? 'a duration' : 'a number'}`,
        );
      }
      let sum = column.missing ? -column.missing.weight * column.missing.mean : 0;
      for (const term of column.terms) {
        sum += (term.weight * (applyTransform(term.transform, x) - term.mean)) / term.scale;
      }
      const bins = this.binTables[index];
      return bins ? sum + binContribution(bins, x) : sum;
    }
    const cache = this.rawCaches[index] as Map<string, number>;
    const cached = cache.get(raw);
    if (cached !== undefined) return cached;
    let contribution: number | undefined;
    if (column.kind === 'boolean') {
      const value = isMissing(raw) ? undefined : parseBoolean(raw);
      if (value === undefined && !isMissing(raw)) {
        throw new RowError(`${column.name} is "${raw}", not yes or no`);
      }
      contribution = value === undefined ? 0 : column.weight * (value - column.mean);
    } else {
      const table = this.tables[index] as CategoricalTable;
      contribution = table.contributions.get(isMissing(raw) ? '' : categoryKey(raw));
      if (contribution === undefined) {
        // Unseen categories sit at the training centre: no push either way.
        this.unknownCategories.set(column.name, (this.unknownCategories.get(column.name) ?? 0) + 1);
        return 0;
      }
    }
    if (cache.size < RAW_CACHE_LIMIT) cache.set(raw, contribution);
    return contribution;
  }

  /** A number in the file's own notation (decimal comma in semicolon files), or NaN. */
  parseNumber(raw: string): number {
    return isMissing(raw) ? Number.NaN : parseNumber(raw, this.decimalComma);
  }

  /** How the scorer reads `raw` in model column `index`: the fit report's view of a value. */
  readValue(index: number, raw: string): ValueReading {
    if (isMissing(raw)) return 'missing';
    const column = this.model.columns[index] as ModelColumn;
    if (column.kind === 'categorical') {
      const known = this.tables[index]?.contributions.has(categoryKey(raw));
      return known ? 'ok' : 'unknown-category';
    }
    if (column.kind === 'boolean') return parseBoolean(raw) === undefined ? 'unparseable' : 'ok';
    const read = this.readers[index] as (raw: string) => number;
    return Number.isNaN(read(raw)) ? 'unparseable' : 'ok';
  }

  /** Scores one record; throws RowError when a value cannot be read. Reuses its buffers. */
  score(record: readonly string[]): ScoredRow {
    const columns = this.model.columns;
    let logit = this.model.intercept;
    for (let i = 0; i < columns.length; i++) {
      const source = this.sourceIndexes[i] as number;
      const contribution =
        source < 0 ? 0 : this.contributionOf(columns[i] as ModelColumn, i, record[source] ?? '');
      this.contributions[i] = contribution;
      logit += contribution;
    }
    const probability = calibrate(logit, this.model.calibration);
    return {
      logit,
      probability,
      tier: tierOf(probability, this.model.tiers),
      contributions: this.contributions,
    };
  }

  /** "Contract is Month-to-month": what the record says in model column `index`. */
  reasonLabel(record: readonly string[], index: number): string {
    const column = this.model.columns[index] as ModelColumn;
    const raw = record[this.sourceIndexes[index] as number] ?? '';
    if (column.kind === 'numeric') {
      if (isMissing(raw)) return `${column.name} is blank`;
      if (column.source?.kind === 'date') {
        const days = Math.round((this.readers[index] as (raw: string) => number)(raw));
        return days >= 0
          ? `${column.name} ${plural(days, 'day')} ago`
          : `${column.name} in ${plural(-days, 'day')}`;
      }
      return `${column.name} is ${raw.trim()}`;
    }
    const cache = this.labelCaches[index] as Map<string, string>;
    let label = cache.get(raw);
    if (label === undefined) {
      label = this.describeValue(column, index, raw);
      if (cache.size < RAW_CACHE_LIMIT) cache.set(raw, label);
    }
    return label;
  }

  private describeValue(column: ModelColumn, index: number, raw: string): string {
    if (isMissing(raw)) return `${column.name} is blank`;
    if (column.kind === 'numeric') return `${column.name} is ${raw.trim()}`;
    if (column.kind === 'boolean') {
      return `${column.name} is ${parseBoolean(raw) === 1 ? column.trueLabel : column.falseLabel}`;
    }
    const key = categoryKey(raw);
    const label = this.tables[index]?.labels.get(key);
    return label === undefined
      ? `${column.name} is ${raw.trim()} (unknown)`
      : `${column.name} is ${label}`;
  }

  /** What the summary counts a reason as: numeric values vary, so only their direction. */
  reasonKind(record: readonly string[], index: number, contribution: number): string {
    const column = this.model.columns[index] as ModelColumn;
    if (
      column.kind === 'numeric' &&
      !isMissing(record[this.sourceIndexes[index] as number] ?? '')
    ) {
      return `${column.name} ${contribution > 0 ? 'raises' : 'lowers'} risk`;
    }
    return this.reasonLabel(record, index);
  }

  /** The three (or `count`) largest contributions as text, largest first. */
  reasons(record: readonly string[], row: ScoredRow, top: readonly number[]): string {
    let text = '';
    for (const i of top) {
      if (text.length > 0) text += '; ';
      text += `${this.reasonLabel(record, i)} (${formatContribution(row.contributions[i] as number)})`;
    }
    return text;
  }
}

function plural(count: number, unit: string): string {
  return `${count.toLocaleString('en-US')} ${unit}${count === 1 ? '' : 's'}`;
}

/** Indexes of the `count` largest contributions by size, largest first. */
export function topContributions(contributions: Float64Array, count: number): number[] {
  const top: number[] = [];
  for (let i = 0; i < contributions.length; i++) {
    const size = Math.abs(contributions[i] as number);
    if (size === 0) continue;
    let position = top.length;
    while (position > 0 && Math.abs(contributions[top[position - 1] as number] as number) < size) {
      position--;
    }
    if (position < count) {
      top.splice(position, 0, i);
      if (top.length > count) top.pop();
    }
  }
  return top;
}
