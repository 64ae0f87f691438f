/** Measures a trained model on a labelled file it may never have seen. */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { evaluate } from './cross-validation.js';
import { readCsvRecords } from './csv-reader.js';
import { CsvInputError } from './errors.js';
import { normaliseHeader } from './headers.js';
import type { Evaluation, ModelFile } from './model-file.js';
import { RecordScorer, RowError, type ScorerOptions } from './scorer.js';
import { categoryKey, isMissing, parseBoolean } from './values.js';

export interface ModelEvaluation extends Evaluation {
  /** Rows left out because a value or the label could not be read. */
  skippedRows: number;
  /**
   * The file is byte for byte the one the model was trained on: the metrics are in-sample and
   * flatter it; the model's cross-validated metrics are the honest ones.
   */
  onTrainingFile: boolean;
}

export async function evaluateModel(
  input: Readable | AsyncIterable<Buffer | string>,
  model: ModelFile,
  labelColumn: string,
  options: ScorerOptions = {},
): Promise<ModelEvaluation> {
  let scorer: RecordScorer | undefined;
  let labelIndex = -1;
  const labels: number[] = [];
  const probabilities: number[] = [];
  let skippedRows = 0;
  // The model's own rule for which value means churned, when it was trained with one.
  const rule = model.training.label;
  const labelOf = (raw: string): number | undefined =>
    isMissing(raw)
      ? undefined
      : rule
        ? rule.positiveKeys.includes(categoryKey(raw))
          ? 1
          : 0
        : parseBoolean(raw);
  const hash = createHash('sha256');
  const hashed = async function* () {
    for await (const chunk of input) {
      hash.update(chunk);
      yield chunk;
    }
  };
  for await (const batch of readCsvRecords(hashed())) {
    let start = 0;
    if (scorer === undefined) {
      const headers = (batch[0] as string[]).map((header) => header.trim());
      labelIndex = headers.findIndex((h) => normaliseHeader(h) === normaliseHeader(labelColumn));
      if (labelIndex === -1) {
        throw new CsvInputError(
          `the label column "${labelColumn}" is not in the file. Found: ${headers.map((h) => JSON.stringify(h)).join(', ')}.`,
        );
      }
      scorer = new RecordScorer(model, headers, options);
      start = 1;
    }
    for (let b = start; b < batch.length; b++) {
      const record = batch[b] as string[];
      const label = labelOf(record[labelIndex] ?? '');
      if (label === undefined || record.length !== scorer.headers.length) {
        skippedRows++;
        continue;
      }
      try {
        probabilities.push(scorer.score(record).probability);
        labels.push(label);
      } catch (error) {
        if (!(error instanceof RowError)) throw error;
        skippedRows++;
      }
    }
  }
  if (labels.length === 0) throw new CsvInputError('the file has no rows that could be scored.');
  const evaluation = evaluate(
    Float64Array.from(labels),
    Float64Array.from(probabilities),
    model.tiers,
  );
  const onTrainingFile = hash.digest('hex') === model.training.fingerprint.sha256;
  return { ...evaluation, skippedRows, onTrainingFile };
}
