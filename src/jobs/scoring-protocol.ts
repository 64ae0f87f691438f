import type { HistoryBucket } from '../history/buckets.js';
import type { ChangeCounts } from '../history/changes.js';
import type { ScoreOptions, ScoreSummary } from '../model/score-stream.js';
import type { ChunkCounts } from '../model/tally-json.js';
import type { TierRule } from '../model/tier-rules.js';

/** What a scoring thread is told about how to read the file (plain data: it crosses threads). */
export type TaskScoring = Pick<
  ScoreOptions,
  'asOfDays' | 'overrides' | 'allowMissingInputs' | 'playbook'
>;

/** Messages between the job worker and a scoring thread. */
export type ToThread =
  | {
      type: 'score';
      taskId: number;
      modelId: string;
      inputKey: string;
      resultKey: string;
      scoring: TaskScoring;
      /** A model the user trained: its file (a shipped model is found by its id). */
      modelKey?: string;
      /** The rows index of the previous prediction with this model, to compare customers with. */
      previousIndexKey?: string;
    }
  | ({ type: 'score-chunk'; taskId: number } & ChunkTask)
  | ({ type: 'assemble'; taskId: number } & AssembleTask)
  | {
      type: 'train';
      taskId: number;
      inputKey: string;
      /** Where the model file goes; written whole, and only on success. */
      modelKey: string;
      training: TrainSettings;
    }
  | { type: 'abort'; taskId: number };

/** Where one chunk's results and rows go until the prediction is assembled (src/ids.ts). */
export interface PartKeys {
  results: string;
  rows: string;
}

/** Score bytes [start, end) of an upload, read as a file with the header line [0, headerEnd). */
export interface ChunkTask {
  modelId: string;
  modelKey?: string;
  inputKey: string;
  headerEnd: number;
  start: number;
  end: number;
  part: PartKeys;
  scoring: TaskScoring;
}

/** Join the chunks' parts, in order, into the results and rows index, and add up their counts. */
export interface AssembleTask {
  resultKey: string;
  parts: PartKeys[];
  counts: ChunkCounts[];
  previousIndexKey?: string;
}

/** What scoring reports back: the summary, and what the customer history stores. */
export interface ScoredResults {
  summary: ScoreSummary;
  /** How customers moved since the previous prediction; null when none was compared. */
  changes: Omit<ChangeCounts, 'previousPredictionId'> | null;
  history: HistoryBucket[];
  /** Time the thread spent on the history (comparing, bucketing), for the job's log line. */
  historyMs: number;
  /** How long each step took, for the job's log line (an assembly's, say). */
  stepsMs?: Record<string, number>;
  /**
   * Bytes stored: the results file and its rows index (counted in the user's quota); for an
   * assembly, the rows index only (the main thread stores the results: joinResults).
   */
  storedBytes: number;
}

/** What a training thread is told (plain data). */
export interface TrainSettings {
  name: string;
  labelColumn: string;
  positiveValue?: string;
  asOfDays: number;
  tiers?: TierRule;
}

/** How far a training task is: reading the file, then cross-validation runs done of a total. */
export interface TrainingProgress {
  stage: 'reading the file' | 'choosing features' | 'cross-validating';
  done: number;
  total: number;
}

/** How far a scoring task is: rows of the file scored so far. */
export interface ScoringProgress {
  stage: 'scoring';
  rows: number;
}

/** What training reports back: enough for the model list; the card reads the model file. */
export interface TrainedModel {
  rows: number;
  positives: number;
  /** The model's inputs. */
  columns: string[];
  metrics: { rocAuc: number; prAuc: number; brier: number; logLoss: number };
}

export type FromThread =
  | { type: 'done'; taskId: number; scored: ScoredResults }
  | { type: 'chunk-scored'; taskId: number; counts: ChunkCounts }
  | { type: 'trained'; taskId: number; model: TrainedModel }
  | { type: 'progress'; taskId: number; progress: TrainingProgress | ScoringProgress }
  | { type: 'failed'; taskId: number; error: SerialisedError };

/** What survives the trip across threads of an error: enough to decide permanent or transient. */
export interface SerialisedError {
  name: string;
  message: string;
  code?: string;
  retryable?: boolean;
  /** For storage errors: reading the upload, storing the results, or reading a model file. */
  operation?: StorageOperation;
}

export function serialiseError(error: unknown): SerialisedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { code, retryable, operation } = error as {
    code?: unknown;
    retryable?: unknown;
    operation?: unknown;
  };
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof retryable === 'boolean' ? { retryable } : {}),
    ...(operation === 'read' || operation === 'write' || operation === 'model'
      ? { operation }
      : {}),
  };
}

/** Marks a storage error with the operation that failed, for the message the user sees. */
export type StorageOperation = 'read' | 'write' | 'model';

export function tagOperation<T>(operation: StorageOperation, work: Promise<T>): Promise<T> {
  return work.catch((error: unknown) => {
    if (error instanceof Error) Object.assign(error, { operation });
    throw error;
  });
}
