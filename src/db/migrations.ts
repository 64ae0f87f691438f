import {
  type CreateTableBuilder,
  type Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  sql,
} from 'kysely';

export type SqlDialectName = 'sqlite' | 'postgres';

/**
 * The few DDL spellings that differ between the engines, in one place. Everything else in the
 * migrations is portable: text, integer, bigint and ISO-8601 timestamps stored as text.
 */
function dialectDdl(dialect: SqlDialectName) {
  return {
    /**
     * SQLite: `integer primary key autoincrement` (64-bit, ids never reused); PostgreSQL: a bigint
     * identity column, for the same range (pg-int8.ts reads it back as a number).
     */
    addAutoIncrementId<T extends string>(table: CreateTableBuilder<T, never>) {
      return dialect === 'postgres'
        ? table.addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity())
        : table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
    },
  };
}

/**
 * Numbered migrations, the same for SQLite and PostgreSQL; a step that must be spelt differently
 * asks `dialectDdl`. Kept in code rather than files so they ship inside the build and run from
 * source alike.
 */
function numberedMigrations(dialect: SqlDialectName): Record<string, Migration> {
  const ddl = dialectDdl(dialect);
  return {
    '0001_uploads_predictions_outbox': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('uploads')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('filename', 'text', (c) => c.notNull())
          .addColumn('object_key', 'text', (c) => c.notNull())
          .addColumn('bytes', 'bigint', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('row_count', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('deleted_at', 'text')
          .execute();
        await db.schema
          .createIndex('uploads_by_user')
          .on('uploads')
          .columns(['user_id', 'created_at', 'id'])
          .execute();

        await db.schema
          .createTable('predictions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('upload_id', 'text', (c) => c.notNull().references('uploads.id'))
          .addColumn('model_id', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('rows_scored', 'integer')
          .addColumn('rows_failed', 'integer')
          .addColumn('summary', 'text')
          .addColumn('result_key', 'text')
          .addColumn('error_code', 'text')
          .addColumn('error_message', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('started_at', 'text')
          .addColumn('completed_at', 'text')
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('deleted_at', 'text')
          .execute();
        await db.schema
          .createIndex('predictions_by_user')
          .on('predictions')
          .columns(['user_id', 'created_at', 'id'])
          .execute();

        await db.schema
          .createTable('outbox')
          .$call(ddl.addAutoIncrementId)
          .addColumn('prediction_id', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('sent_at', 'text')
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('last_error', 'text')
          .execute();
        await db.schema
          .createIndex('outbox_pending')
          .on('outbox')
          .columns(['sent_at', 'id'])
          .execute();
      },
    },
    '0002_predictions_rows_index_key': {
      // Null for predictions completed before rows indexes existed: their pages are streamed.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('predictions').addColumn('rows_index_key', 'text').execute();
      },
    },
    '0003_uploads_state': {
      // An upload's row is written before its object (state `storing`), so that a process killed
      // mid-upload leaves a record of what to remove. Rows from before this step are all whole.
      async up(db: Kysely<unknown>) {
        await db.schema
          .alterTable('uploads')
          .addColumn('state', 'text', (c) => c.notNull().defaultTo('stored'))
          .execute();
        // The sweep's only question: which unfinished uploads are old. Stored ones stay out of it.
        await db.schema
          .createIndex('uploads_unfinished')
          .on('uploads')
          .columns(['state', 'created_at'])
          .where(sql.ref('state'), '<>', 'stored')
          .execute();
      },
    },
    '0004_column_mappings_prediction_options': {
      // A user's choice of column per model input, per upload and model (PUT .../mapping), and
      // what a prediction was asked to score with, fixed when it was created.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('column_mappings')
          .addColumn('upload_id', 'text', (c) => c.notNull())
          .addColumn('model_id', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('overrides', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('column_mappings_pk', ['upload_id', 'model_id'])
          .execute();
        // Null for predictions from before: every input by name, the upload's time as the as-of.
        await db.schema.alterTable('predictions').addColumn('scoring_options', 'text').execute();
      },
    },
    '0005_models_user_settings_outbox_job_id': {
      // Models users train, their default model, and an outbox that holds jobs of every kind.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('models')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('upload_id', 'text', (c) => c.notNull())
          .addColumn('label', 'text', (c) => c.notNull())
          .addColumn('positive_value', 'text')
          .addColumn('as_of', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('object_key', 'text')
          .addColumn('summary', 'text')
          .addColumn('error_code', 'text')
          .addColumn('error_message', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('started_at', 'text')
          .addColumn('completed_at', 'text')
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('deleted_at', 'text')
          .execute();
        await db.schema
          .createIndex('models_by_user')
          .on('models')
          .columns(['user_id', 'created_at', 'id'])
          .execute();
        await db.schema
          .createTable('user_settings')
          .addColumn('user_id', 'text', (c) => c.primaryKey())
          .addColumn('default_model_id', 'text')
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.alterTable('outbox').renameColumn('prediction_id', 'job_id').execute();
      },
    },
    '0006_models_progress': {
      // How far a training job is (JSON TrainingProgress), while the model is `training`.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('models').addColumn('progress', 'text').execute();
      },
    },
    '0007_models_tier_rule': {
      // How the user asked for the risk tiers to be drawn (JSON TierRule); null: the default.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('models').addColumn('tier_rule', 'text').execute();
      },
    },
    '0008_user_settings_table_columns': {
      // Which of their own columns a user shows in the customers table (JSON string[]).
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('user_settings').addColumn('table_columns', 'text').execute();
      },
    },
    '0009_user_settings_playbook': {
      // The user's own playbook (JSON Playbook); null: the one the service ships.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('user_settings').addColumn('playbook', 'text').execute();
      },
    },
    '0010_customer_history': {
      // Each prediction's customers in runs of hashed buckets (src/history/buckets.ts): a timeline
      // reads one row per prediction through the index; a prediction's rows go with it by its key.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('customer_history')
          .addColumn('prediction_id', 'text', (c) => c.notNull())
          .addColumn('bucket', 'integer', (c) => c.notNull())
          .addColumn('span', 'integer', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('model_id', 'text', (c) => c.notNull())
          .addColumn('scored_at', 'text', (c) => c.notNull())
          .addColumn('customers', 'integer', (c) => c.notNull())
          .addColumn('entries', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('customer_history_pk', ['prediction_id', 'bucket'])
          .execute();
        await db.schema
          .createIndex('customer_history_by_customer')
          .on('customer_history')
          .columns(['user_id', 'bucket', 'scored_at', 'prediction_id'])
          .execute();
        // Finding the previous prediction with a model: the user's completed ones, newest first.
        await db.schema
          .createIndex('predictions_by_user_model')
          .on('predictions')
          .columns(['user_id', 'model_id', 'completed_at'])
          .execute();
      },
    },
    '0011_webhooks': {
      // Users' webhook endpoints and every event delivered to them (src/webhooks). An outbox row
      // may wait until `not_before`: a delivery's retries are scheduled hours ahead there.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('webhook_endpoints')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('events', 'text', (c) => c.notNull())
          .addColumn('format', 'text', (c) => c.notNull())
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('previous_secret', 'text')
          .addColumn('previous_secret_expires_at', 'text')
          .addColumn('disabled_at', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('deleted_at', 'text')
          .execute();
        await db.schema
          .createIndex('webhook_endpoints_by_user')
          .on('webhook_endpoints')
          .columns(['user_id', 'created_at', 'id'])
          .execute();
        await db.schema
          .createTable('webhook_deliveries')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('endpoint_id', 'text', (c) => c.notNull().references('webhook_endpoints.id'))
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('event_type', 'text', (c) => c.notNull())
          .addColumn('event_key', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('next_attempt_at', 'text')
          .addColumn('last_attempt_at', 'text')
          .addColumn('response_status', 'integer')
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('delivered_at', 'text')
          .execute();
        // One delivery per event and endpoint: a redelivered job cannot announce an event twice.
        await db.schema
          .createIndex('webhook_deliveries_event')
          .on('webhook_deliveries')
          .columns(['endpoint_id', 'event_key'])
          .unique()
          .execute();
        // The delivery log: an endpoint's deliveries, newest first.
        await db.schema
          .createIndex('webhook_deliveries_log')
          .on('webhook_deliveries')
          .columns(['endpoint_id', 'created_at', 'id'])
          .execute();
        await db.schema.alterTable('outbox').addColumn('not_before', 'text').execute();
      },
    },
    // Progress while a prediction runs: rows_scored counts up against rows_total (the upload's
    // rows, fixed at creation); status gains `cancelled`.
    '0012_prediction_progress': {
      async up(db) {
        await db.schema.alterTable('predictions').addColumn('rows_total', 'integer').execute();
      },
    },
    '0013_quotas': {
      // What a completed prediction keeps stored (results and rows index), counted in the user's
      // stored bytes; null for predictions completed before quotas, which count as nothing.
      // predictions_active_by_user answers "how many jobs does this user have queued or running".
      // user_quotas: the operator's limits for one user, each null for the configured default.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('predictions').addColumn('result_bytes', 'bigint').execute();
        await db.schema
          .createIndex('predictions_active_by_user')
          .on('predictions')
          .columns(['user_id', 'status'])
          .execute();
        // Covering indexes: a user's stored bytes are summed from the index alone (a third of
        // the time over 20,000 uploads and predictions; npm run bench:quotas).
        await db.schema
          .createIndex('uploads_stored_bytes')
          .on('uploads')
          .columns(['user_id', 'state', 'deleted_at', 'bytes'])
          .execute();
        await db.schema
          .createIndex('predictions_result_bytes')
          .on('predictions')
          .columns(['user_id', 'deleted_at', 'result_bytes'])
          .execute();
        await db.schema
          .createTable('user_quotas')
          .addColumn('user_id', 'text', (c) => c.primaryKey())
          .addColumn('stored_bytes', 'bigint')
          .addColumn('uploads_per_day', 'integer')
          .addColumn('active_jobs', 'integer')
          .addColumn('rate_per_second', 'double precision')
          .addColumn('rate_burst', 'integer')
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0014_outbox_group_id': {
      // The job's owner (a user id), sent as the message's group so that the queue shares out
      // work across users (fair scheduling). Null for rows from before: sent in no group.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('outbox').addColumn('group_id', 'text').execute();
      },
    },
    '0015_chunked_scoring': {
      // A large upload is scored in chunks by many workers (src/jobs/chunks.ts). uploads.splits:
      // JSON byte offsets where records start, about every MiB, recorded as the upload streamed in
      // (null for small files and uploads from before). predictions.chunks: how many chunk jobs
      // the prediction was split into (null: one job). prediction_chunks: one row per chunk, its
      // byte range, progress and, once scored, its counts for the summary.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('uploads').addColumn('splits', 'text').execute();
        await db.schema.alterTable('predictions').addColumn('chunks', 'integer').execute();
        await db.schema
          .createTable('prediction_chunks')
          .addColumn('prediction_id', 'text', (c) => c.notNull().references('predictions.id'))
          .addColumn('chunk', 'integer', (c) => c.notNull())
          .addColumn('start_byte', 'bigint', (c) => c.notNull())
          .addColumn('end_byte', 'bigint', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('rows_scored', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('tally', 'text')
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('prediction_chunks_pk', ['prediction_id', 'chunk'])
          .execute();
      },
    },
  };
}

export interface MigrateOptions {
  readonly dialect: SqlDialectName;
  /** PostgreSQL: the schema that holds Kysely's bookkeeping tables (the connection's own). */
  readonly migrationTableSchema?: string;
}

/** Brings the schema to the latest version; throws with the failing migration's name. */
export async function migrateToLatest(
  db: Kysely<unknown>,
  options: MigrateOptions,
): Promise<string[]> {
  const migrations = numberedMigrations(options.dialect);
  const provider: MigrationProvider = { getMigrations: async () => migrations };
  const { error, results } = await new Migrator({
    db,
    provider,
    ...(options.migrationTableSchema ? { migrationTableSchema: options.migrationTableSchema } : {}),
  }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(
      `Database migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
