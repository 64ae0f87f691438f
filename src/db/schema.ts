import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { Playbook } from '../model/playbook.js';

/** Timestamps are ISO-8601 UTC strings with milliseconds: portable and sortable on every engine. */
export type Timestamp = string;

export type PredictionStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/**
 * `storing`: the row is written before the object, as a record of intent, and is visible to no
 * one; `stored`: the object is whole and the row's sizes describe it; `removing`: abandoned (its
 * writer died or outlived the limit), the object is being deleted, then the row (uploads.ts).
 */
export type UploadState = 'storing' | 'stored' | 'removing';

export interface UploadsTable {
  id: string;
  user_id: string;
  /** The user's original file name, sanitised; metadata only, never part of a storage key. */
  filename: string;
  object_key: string;
  bytes: number;
  sha256: string;
  row_count: number;
  /** When the upload began (the sweep measures an unfinished upload's age from it). */
  created_at: Timestamp;
  deleted_at: Timestamp | null;
  /** Defaults to `stored` (the database's default too): only the upload route begins one. */
  state: ColumnType<UploadState, UploadState | undefined, UploadState>;
  /**
   * JSON array of byte offsets where records start: the first data record, then about every MiB
   * (src/jobs/chunks.ts splits a large file's scoring at them). Null for a small file.
   */
  splits: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface PredictionsTable {
  id: string;
  user_id: string;
  upload_id: string;
  model_id: string;
  status: PredictionStatus;
  attempts: number;
  /** While running: rows scored so far (progress); once completed: rows scored. */
  rows_scored: number | null;
  rows_failed: number | null;
  /** The upload's rows when the prediction was made; null for predictions from before. */
  rows_total: ColumnType<number | null, number | null | undefined, number | null>;
  /** JSON: rows per tier, mean probability, most common reasons. */
  summary: string | null;
  result_key: string | null;
  /** The results' rows index (src/results/rows-index.ts); null before indexes existed. */
  rows_index_key: ColumnType<string | null, string | null | undefined, string | null>;
  error_code: string | null;
  /** Safe to show the user: never a stack trace or an internal path. */
  error_message: string | null;
  created_at: Timestamp;
  started_at: Timestamp | null;
  completed_at: Timestamp | null;
  updated_at: Timestamp;
  /** Soft delete, so a job still in the queue can tell "deleted by its owner" from "forged". */
  deleted_at: Timestamp | null;
  /** JSON ScoringOptions, fixed at creation; null for predictions from before they existed. */
  scoring_options: ColumnType<string | null, string | null | undefined, string | null>;
  /** Bytes of the results and their rows index, set on completion; null before quotas existed. */
  result_bytes: ColumnType<number | null, number | null | undefined, number | null>;
  /** How many chunk jobs score it (src/jobs/chunks.ts); null: one job scores the whole file. */
  chunks: ColumnType<number | null, number | null | undefined, number | null>;
}

export type ChunkStatus = 'queued' | 'scored';

/** One chunk of a prediction scored in chunks: a byte range of the upload, whole records. */
export interface PredictionChunksTable {
  prediction_id: string;
  chunk: number;
  /** Bytes [start_byte, end_byte) of the upload, starting and ending at a record's start. */
  start_byte: number;
  end_byte: number;
  status: ChunkStatus;
  attempts: number;
  /** Rows scored so far; the prediction's rows_scored is their sum while it runs. */
  rows_scored: number;
  /** Once scored: its counts (src/model/tally-json.ts), merged into the summary on assembly. */
  tally: string | null;
  updated_at: Timestamp;
}

/** How a prediction scores its file, decided when it is created (the fit check and the user's choices). */
export interface ScoringOptions {
  /** Model input → the file's column, as the user chose. */
  overrides?: Record<string, string>;
  /** Score although some inputs have no column (each counts as an average customer's). */
  allowMissingInputs?: boolean;
  /** Dates in the file count back from this instant: the upload's time. */
  asOf: Timestamp;
  /** The user's playbook when the prediction was made; absent: the service's default. */
  playbook?: Playbook;
}

export interface ColumnMappingsTable {
  upload_id: string;
  model_id: string;
  user_id: string;
  /** JSON object: model input → the file's column. */
  overrides: string;
  updated_at: Timestamp;
}

export type ModelStatus = 'training' | 'ready' | 'failed';

/** A model a user trains on one of their uploads (the shipped ones live in models/). */
export interface ModelsTable {
  id: string;
  user_id: string;
  name: string;
  status: ModelStatus;
  upload_id: string;
  /** The label column, as the user named it, and the value that means churned (if given). */
  label: string;
  positive_value: string | null;
  /** Dates in the training file count back from this instant. */
  as_of: Timestamp;
  attempts: number;
  /** The model file; set when the model is ready, never before. */
  object_key: string | null;
  /** JSON TrainedModel: rows, churners, cross-validated metrics, for lists. */
  summary: string | null;
  /** JSON TierRule the user chose for the tiers; null: the default rule. */
  tier_rule: ColumnType<string | null, string | null | undefined, string | null>;
  /** JSON TrainingProgress while training; null before the first report. */
  progress: ColumnType<string | null, string | null | undefined, string | null>;
  error_code: string | null;
  error_message: string | null;
  created_at: Timestamp;
  started_at: Timestamp | null;
  completed_at: Timestamp | null;
  updated_at: Timestamp;
  deleted_at: Timestamp | null;
}

export interface UserSettingsTable {
  user_id: string;
  /** The model predictions use when they name none; null: the shipped default. */
  default_model_id: string | null;
  /** JSON string[]: the user's own columns shown in the customers table; null: none chosen. */
  table_columns: string | null;
  /** JSON Playbook: the user's own; null: the service's default. */
  playbook: string | null;
  updated_at: Timestamp;
}

export interface OutboxTable {
  id: Generated<number>;
  /** The prediction or model the job is for. */
  job_id: string;
  /** The signed job message, exactly as it will be sent. */
  body: string;
  created_at: Timestamp;
  sent_at: Timestamp | null;
  attempts: number;
  last_error: string | null;
  /** Not sent before this instant (a webhook's next attempt); null: at once. */
  not_before: ColumnType<Timestamp | null, Timestamp | null | undefined, Timestamp | null>;
  /** The job's owner (user id), its group in the queue (fair scheduling); null: no group. */
  group_id: ColumnType<string | null, string | null | undefined, string | null>;
}

export type WebhookFormat = 'standard' | 'slack';

/** A user's webhook endpoint (src/webhooks); secrets are `whsec_...` as Standard Webhooks has them. */
export interface WebhookEndpointsTable {
  id: string;
  user_id: string;
  url: string;
  /** JSON string[]: the event types it receives. */
  events: string;
  format: WebhookFormat;
  secret: string;
  /** The secret before the last rotation, still signing beside the new one until it expires. */
  previous_secret: string | null;
  previous_secret_expires_at: Timestamp | null;
  /** Set while the user has it switched off: no events are delivered to it. */
  disabled_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: Timestamp | null;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One event for one endpoint; its id is the `webhook-id` every attempt carries. */
export interface WebhookDeliveriesTable {
  id: string;
  endpoint_id: string;
  user_id: string;
  event_type: string;
  /** What makes the event unique for its endpoint (`prediction.completed:<id>`). */
  event_key: string;
  /** JSON `{ type, timestamp, data }`, fixed when the event happened. */
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Timestamp | null;
  last_attempt_at: Timestamp | null;
  response_status: number | null;
  last_error: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  delivered_at: Timestamp | null;
}

/**
 * The operator's limits for one user (`churnline quota set`), each null for the configured
 * default (src/config/quotas.ts); 0 means unlimited, as in the environment.
 */
export interface UserQuotasTable {
  user_id: string;
  stored_bytes: number | null;
  uploads_per_day: number | null;
  active_jobs: number | null;
  rate_per_second: number | null;
  rate_burst: number | null;
  updated_at: Timestamp;
}

export interface Database {
  uploads: UploadsTable;
  predictions: PredictionsTable;
  outbox: OutboxTable;
  column_mappings: ColumnMappingsTable;
  models: ModelsTable;
  user_settings: UserSettingsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  customer_history: CustomerHistoryTable;
  user_quotas: UserQuotasTable;
  prediction_chunks: PredictionChunksTable;
}

/** A run of buckets of one prediction's customers (src/history/buckets.ts). */
export interface CustomerHistoryTable {
  prediction_id: string;
  /** The first of the buckets this row holds, and how many (src/history/buckets.ts). */
  bucket: number;
  span: number;
  user_id: string;
  model_id: string;
  scored_at: Timestamp;
  customers: number;
  /** JSON of { id: [row, probability, tier] } (src/history/buckets.ts). */
  entries: string;
}

export type Upload = Selectable<UploadsTable>;
export type PredictionChunk = Selectable<PredictionChunksTable>;
export type NewUpload = Insertable<UploadsTable>;
export type Prediction = Selectable<PredictionsTable>;
export type NewPrediction = Insertable<PredictionsTable>;
export type OutboxRow = Selectable<OutboxTable>;
export type UserModel = Selectable<ModelsTable>;
export type WebhookEndpoint = Selectable<WebhookEndpointsTable>;
export type WebhookDelivery = Selectable<WebhookDeliveriesTable>;

export const nowIso = (): Timestamp => new Date().toISOString();
