/**
 * Scoring one record: every model column's exact contribution to the logit (coefficient × centred
 * value, summed over the column's features), the calibrated probability and the tier; then, from
 * the contributions, the inputs that raise the risk most and those that lower it most, as readable
 * reasons (picked and phrased in reasons.ts).
 */

import type { ByteOutput } from './byte-output.js';
import { utf8Bytes } from './byte-output.js';
import { calibrate } from './calibration.js';
import { numericReader } from './column-plan.js';
import type { Delimiter } from './csv-reader.js';
import { csvCell } from './csv-writer.js';
import { epochDays } from './dates.js';
import { applyTransform, type BinTable, binContribution, binTable } from './design.js';
import {
  type ColumnMapping,
  customerIdColumn,
  type FieldSynonyms,
  mapColumns,
  matchColumns,
} from './headers.js';
import { type RiskTier, tierOf } from './metrics.js';
import type { CategoricalModelColumn, ModelColumn, ModelFile } from './model-file.js';
import { DEFAULT_PLAYBOOK, type Playbook, PlaybookMatcher } from './playbook.js';
import { ReasonCells } from './reason-cells.js';
import {
  blankIsSignal,
  dateLabel,
  notRecordedLabel,
  PROTECTIVE_FACTORS,
  pickReasons,
  RAISING_REASONS,
  raisesRiskKind,
  SourceColumns,
  valueLabel,
} from './reasons.js';
import { monthlyRevenueColumn } from './synonyms.js';
import { categoryKey, isMissing, parseBoolean, parseNumber } from './values.js';

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
  /** What to recommend for each customer; default: the playbook the service ships. */
  playbook?: Playbook;
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

/**
 * Which columns explain a scored row: indexes into `contributions`, largest first. Buffers owned
 * by the scorer and overwritten by the next `explain`.
 */
export interface Explanation {
  /** One contribution per source column (the row's, summed by source column). */
  contributions: Float64Array;
  raising: Int32Array;
  raisingCount: number;
  protective: Int32Array;
  protectiveCount: number;
}

export function fieldsOf(model: ModelFile): FieldSynonyms[] {
  return model.columns.map((column) => ({ field: column.name, synonyms: column.synonyms }));
}

/** A model bound to one file's header: maps columns once, then scores records quickly. */
export class RecordScorer {
  readonly unusedColumns: string[];
  /** The column naming the customer (customerIdColumn), or -1. */
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
  /** Per model column: whether the model learned a blank there as a signal (reasons.ts). */
  private readonly blankSignals: boolean[];
  /**
   * Per source column (one per model column), for the last scored row: 1 when its cell was a
   * blank that the model did not learn as a signal, so never a reason.
   */
  private readonly silent: Uint8Array;
  /** Reasons are per source column; each model column is one today (see SourceColumns). */
  private readonly sources: SourceColumns;
  private readonly bySource: Float64Array;
  private readonly explanation: Explanation;
  private readonly actions: PlaybookMatcher;
  /** Each action as an output cell (a handful of distinct texts), and as UTF-8. */
  private readonly actionCells = new Map<string, string>();
  private readonly actionBytes = new Map<string, Uint8Array>();
  /** Per model column: "tenure raises risk" and "tenure not recorded", built once. */
  private readonly raisesKinds: string[];
  private readonly notRecorded: string[];
  /** Reasons as output cells, with their phrase caches. */
  private readonly reasonCells: ReasonCells;

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
    const asOfDays = options.asOfDays ?? epochDays(Date.now());
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
    this.idColumn = customerIdColumn(headers);
    this.revenueColumn = monthlyRevenueColumn(headers);
    this.sourceIndexes = model.columns.map((column) => mapping.fieldColumns.get(column.name) ?? -1);
    this.tables = model.columns.map((column) =>
      column.kind === 'categorical' ? categoricalTable(column) : undefined,
    );
    this.contributions = new Float64Array(model.columns.length);
    this.rawCaches = model.columns.map(() => new Map<string, number>());
    this.labelCaches = model.columns.map(() => new Map<string, string>());
    const count = model.columns.length;
    this.blankSignals = model.columns.map(blankIsSignal);
    this.silent = new Uint8Array(count);
    this.sources = SourceColumns.identity(count);
    this.bySource = new Float64Array(count);
    this.explanation = {
      contributions: this.bySource,
      raising: new Int32Array(count),
      raisingCount: 0,
      protective: new Int32Array(count),
      protectiveCount: 0,
    };
    this.raisesKinds = model.columns.map((column) => raisesRiskKind(column.name));
    this.actions = new PlaybookMatcher(
      options.playbook ?? DEFAULT_PLAYBOOK,
      model.columns.map((column) => column.name),
      this.sourceIndexes,
    );
    this.notRecorded = model.columns.map((column) => notRecordedLabel(column.name));
    this.reasonCells = new ReasonCells(model.columns, this);
  }

  /** The record's raw text in model column `index` ('' for an input the file lacks). */
  rawValue(record: readonly string[], index: number): string {
    return record[this.sourceIndexes[index] as number] ?? '';
  }

  private contributionOf(column: ModelColumn, index: number, raw: string): number {
    if (column.kind === 'numeric') {
      if (isMissing(raw)) {
        this.silent[index] = this.blankSignals[index] ? 0 : 1;
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
    // The cache holds only recorded values, so a hit is never a blank.
    const cache = this.rawCaches[index] as Map<string, number>;
    const cached = cache.get(raw);
    if (cached !== undefined) return cached;
    const blank = isMissing(raw);
    if (blank) this.silent[index] = this.blankSignals[index] ? 0 : 1;
    let contribution: number | undefined;
    if (column.kind === 'boolean') {
      const value = blank ? undefined : parseBoolean(raw);
      if (value === undefined && !blank) {
        throw new RowError(`${column.name} is "${raw}", not yes or no`);
      }
      contribution = value === undefined ? 0 : column.weight * (value - column.mean);
    } else {
      const table = this.tables[index] as CategoricalTable;
      contribution = table.contributions.get(blank ? '' : categoryKey(raw));
      if (contribution === undefined) {
        // Unseen categories sit at the training centre: no push either way.
        this.unknownCategories.set(column.name, (this.unknownCategories.get(column.name) ?? 0) + 1);
        return 0;
      }
    }
    if (!blank && cache.size < RAW_CACHE_LIMIT) cache.set(raw, contribution);
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
      this.silent[i] = 0;
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

  /**
   * Which columns explain the row just scored: up to `raising` that raise its risk most and up to
   * `protective` that lower it most, never a blank the model did not learn as a signal.
   * Reuses its buffers: read the result before the next call.
   */
  explain(row: ScoredRow, raising = RAISING_REASONS, protective = PROTECTIVE_FACTORS): Explanation {
    const why = this.explanation;
    const contributions = this.sources.sum(row.contributions, this.bySource);
    why.contributions = contributions;
    why.raisingCount = pickReasons(contributions, this.silent, 1, raising, why.raising);
    why.protectiveCount = pickReasons(contributions, this.silent, -1, protective, why.protective);
    return why;
  }

  /** "Contract is Month-to-month", "Last Login 36 days ago": what `record` says in column `index`. */
  reasonLabel(record: readonly string[], index: number): string {
    const column = this.model.columns[index] as ModelColumn;
    const raw = this.rawValue(record, index);
    if (column.kind === 'numeric') {
      if (isMissing(raw)) return this.notRecorded[index] as string;
      if (column.source?.kind === 'date') {
        return dateLabel(column.name, (this.readers[index] as (raw: string) => number)(raw));
      }
      return valueLabel(column.name, raw);
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
    if (isMissing(raw)) return this.notRecorded[index] as string;
    if (column.kind === 'boolean') {
      return `${column.name} is ${parseBoolean(raw) === 1 ? column.trueLabel : column.falseLabel}`;
    }
    const label = this.tables[index]?.labels.get(categoryKey(raw));
    return label === undefined
      ? `${valueLabel(column.name, raw)} (unknown)`
      : `${column.name} is ${label}`;
  }

  /**
   * What the summary counts a raising reason as: a category as itself ("Contract is
   * Month-to-month"); a number's values vary, so its column ("tenure raises risk").
   */
  reasonKind(record: readonly string[], index: number): string {
    const column = this.model.columns[index] as ModelColumn;
    if (column.kind === 'numeric') {
      const raw = this.rawValue(record, index);
      return (isMissing(raw) ? this.notRecorded : this.raisesKinds)[index] as string;
    }
    return this.reasonLabel(record, index);
  }

  /** The first `count` columns of `picked` as text: "tenure is 1: strongly raises risk (+1.23); …". */
  reasons(
    record: readonly string[],
    contributions: Float64Array,
    picked: Int32Array,
    count: number,
  ): string {
    return this.reasonCells.text(record, contributions, picked, count);
  }

  /** `reasons` as an output cell. */
  reasonsCell(
    record: readonly string[],
    contributions: Float64Array,
    picked: Int32Array,
    count: number,
  ): string {
    return this.reasonCells.cell(record, contributions, picked, count);
  }

  /** `reasonsCell` written to `out` as UTF-8 (see ReasonCells.write). */
  writeReasonsCell(
    out: ByteOutput,
    record: readonly string[],
    contributions: Float64Array,
    picked: Int32Array,
    count: number,
  ): void {
    this.reasonCells.write(out, record, contributions, picked, count);
  }

  /** What the playbook recommends for the row just explained (see PlaybookMatcher). */
  recommendedAction(record: readonly string[], tier: RiskTier, why: Explanation): string {
    return this.actions.actionFor(tier, why.raising, why.raisingCount, record);
  }

  /** `recommendedAction` as an output cell. */
  recommendedActionCell(record: readonly string[], tier: RiskTier, why: Explanation): string {
    const action = this.recommendedAction(record, tier, why);
    let cell = this.actionCells.get(action);
    if (cell === undefined) {
      cell = csvCell(action);
      if (this.actionCells.size < 256) this.actionCells.set(action, cell);
    }
    return cell;
  }

  /** `recommendedActionCell` written to `out` as UTF-8. */
  writeActionCell(
    out: ByteOutput,
    record: readonly string[],
    tier: RiskTier,
    why: Explanation,
  ): void {
    const action = this.recommendedAction(record, tier, why);
    let bytes = this.actionBytes.get(action);
    if (bytes === undefined) {
      bytes = utf8Bytes(this.recommendedActionCell(record, tier, why));
      if (this.actionBytes.size < 256) this.actionBytes.set(action, bytes);
    }
    out.bytes(bytes);
  }

  /** Scores `record` and explains it in words: convenient where speed does not matter. */
  describe(record: readonly string[]): ScoredRow & { reasons: string; protective: string } {
    const row = this.score(record);
    const why = this.explain(row);
    return {
      ...row,
      contributions: Float64Array.from(row.contributions),
      reasons: this.reasons(record, why.contributions, why.raising, why.raisingCount),
      protective: this.reasons(record, why.contributions, why.protective, why.protectiveCount),
    };
  }
}
