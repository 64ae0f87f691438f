import type { ModelColumn, ModelFile } from '../model-file.js';
import { synonymsFor } from '../synonyms.js';

/**
 * A model file around hand-made or directly fitted columns, for tests of scoring: identity
 * calibration, fixed tiers, and training facts that scoring never reads. Columns without
 * synonyms get their own name's.
 */
export function modelFileOf(fields: {
  name: string;
  label: string;
  intercept: number;
  columns: ModelColumn[];
  rows: number;
}): ModelFile {
  const { rows } = fields;
  return {
    format: 'churnline-model',
    formatVersion: 2,
    name: fields.name,
    label: fields.label,
    intercept: fields.intercept,
    columns: fields.columns.map((column) =>
      column.synonyms.length > 0 ? column : { ...column, synonyms: synonymsFor(column.name) },
    ),
    calibration: { method: 'platt', slope: 1, intercept: 0 },
    tiers: { high: 0.5, medium: 0.25 },
    training: {
      rows,
      positives: 0,
      fingerprint: { sha256: '', rows, columns: fields.columns.length },
      l2: 1,
      skippedColumns: [],
      engineered: [],
      crossValidation: {
        folds: 0,
        repeats: 0,
        mean: { rows: 0, rocAuc: 0, prAuc: 0, brier: 0, logLoss: 0 },
        perRepeat: [],
      },
    },
  };
}
