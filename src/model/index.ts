/**
 * The model's public surface for the rest of Churnline (CLI, job worker, API). Input problems
 * throw CsvInputError or ModelFileError: permanent, never worth a retry.
 */

export { readLabelledCsv } from './dataset.js';
export { CsvInputError, ModelFileError } from './errors.js';
export { evaluateModel, type ModelEvaluation } from './evaluate.js';
export {
  loadModel,
  type ModelFile,
  parseModel,
  SHIPPED_MODELS,
  serialiseModel,
} from './model-file.js';
export { OUTPUT_COLUMNS } from './score-batch.js';
export { type ParallelScoreOptions, scoreCsvStreamParallel } from './score-parallel.js';
export {
  type ScoreInput,
  type ScoreOptions,
  type ScoreSummary,
  scoreCsvStream,
} from './score-stream.js';
export { type TrainOptions, trainModel } from './train.js';
