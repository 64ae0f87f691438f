import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, openPostgresDatabase } from './connect.js';
import { parseInt8 } from './pg-int8.js';
import { describeQuotaRepositoryContract } from './quotas.contract.js';
import { describeRepositoryContract } from './repositories.contract.js';
import { createTestSchema, type TestSchema } from './test-support/postgres.js';
import { describeWebhookRepositoryContract } from './webhooks.contract.js';

const openPostgres = async () => {
  const schema = await createTestSchema();
  const db = await openPostgresDatabase(schema.url, { poolSize: 4 });
  return {
    db,
    cleanup: async () => {
      await db.destroy();
      await schema.drop();
    },
  };
};

describeRepositoryContract('postgres', openPostgres);
describeWebhookRepositoryContract('postgres', openPostgres);
describeQuotaRepositoryContract('postgres', openPostgres);

describe('openPostgresDatabase', () => {
  const schemas: TestSchema[] = [];
  const dbs: Db[] = [];
  afterEach(async () => {
    await Promise.all(dbs.splice(0).map((db) => db.destroy()));
    await Promise.all(schemas.splice(0).map((schema) => schema.drop()));
  });
  async function freshSchema() {
    const schema = await createTestSchema();
    schemas.push(schema);
    return schema;
  }
  async function open(url: string, poolSize?: number) {
    const db = await openPostgresDatabase(url, poolSize === undefined ? {} : { poolSize });
    dbs.push(db);
    return db;
  }

  it('migrates once when many processes start at the same time, in its own schema', async () => {
    const schema = await freshSchema();
    const opened = await Promise.all([open(schema.url), open(schema.url), open(schema.url)]);
    const { rows } = await sql<{ name: string }>`
      select name from kysely_migration order by name`.execute(opened[0]!);
    expect(rows.map((r) => r.name)).toEqual([
      '0001_uploads_predictions_outbox',
      '0002_predictions_rows_index_key',
      '0003_uploads_state',
      '0004_column_mappings_prediction_options',
      '0005_models_user_settings_outbox_job_id',
      '0006_models_progress',
      '0007_models_tier_rule',
      '0008_user_settings_table_columns',
      '0009_user_settings_playbook',
      '0010_customer_history',
      '0011_webhooks',
      '0012_prediction_progress',
      '0013_quotas',
      '0014_outbox_group_id',
      '0015_chunked_scoring',
    ]);
    const tables = await sql<{ table_schema: string; table_name: string }>`
      select table_schema, table_name from information_schema.tables
       where table_name in ('uploads', 'predictions', 'outbox', 'kysely_migration')`.execute(
      opened[0]!,
    );
    const inThisSchema = tables.rows.filter((t) => t.table_schema === schema.schema);
    expect(inThisSchema.map((t) => t.table_name).sort()).toEqual([
      'kysely_migration',
      'outbox',
      'predictions',
      'uploads',
    ]);
  });

  it('never opens more connections than its pool size', async () => {
    const db = await open((await freshSchema()).url, 2);
    const pids = await Promise.all(
      Array.from({ length: 6 }, () =>
        sql<{ pid: number }>`select pg_backend_pid() as pid, pg_sleep(0.05)`
          .execute(db)
          .then((r) => r.rows[0]!.pid),
      ),
    );
    expect(new Set(pids).size).toBe(2);
  });

  it('returns counts as numbers and refuses a bigint it cannot hold exactly', async () => {
    const db = await open((await freshSchema()).url);
    const { rows } = await sql<{ n: unknown }>`select count(*) as n from uploads`.execute(db);
    expect(rows[0]?.n).toBe(0);
    await expect(sql`select 9007199254740993::bigint as n`.execute(db)).rejects.toThrow(
      /beyond what a JavaScript number holds exactly/,
    );
    expect(parseInt8('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => parseInt8('-9007199254740992')).toThrow(RangeError);
  });

  it('says which schema is missing when the search path names none that exists', async () => {
    const schema = await freshSchema();
    const url = new URL(schema.url);
    url.searchParams.set('options', '-c search_path=no_such_schema');
    await expect(openPostgresDatabase(url.toString())).rejects.toThrow(/no current schema/);
  });

  it('survives the server ending a connection that a transaction holds between queries', async () => {
    // A checked-out connection emits 'error' when the server ends it while no query runs (a
    // restart, a failover, pg_terminate_backend): with no listener, the process crashed.
    const schema = await freshSchema();
    const db = await open(schema.url, 2);
    const admin = await open(schema.url, 1);
    const ended = db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
      await sql`select pg_terminate_backend(${rows[0]?.pid})`.execute(admin);
      await new Promise((resolve) => setTimeout(resolve, 200)); // the 'error' arrives meanwhile
      await sql`select 1`.execute(trx);
    });
    await expect(ended).rejects.toThrow(/terminat|not queryable|closed/i);
    // The pool replaces the lost connection.
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db);
    expect(rows).toEqual([{ one: 1 }]);
  });
});
