import SqliteDatabase from 'better-sqlite3';
import {
  Kysely,
  type SqliteDatabase as KyselySqliteDatabase,
  PostgresDialect,
  SqliteDialect,
  sql,
} from 'kysely';
import { privateSqliteFile } from '../private-files.js';
import { explainPostgresFailure } from './connect-errors.js';
import { migrateToLatest } from './migrations.js';
import { int8AsNumber } from './pg-int8.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

/** The embedded database's connection settings, in order (bench/sqlite-driver applies them too). */
export const SQLITE_PRAGMAS = [
  'journal_mode = WAL',
  'synchronous = NORMAL',
  'busy_timeout = 5000',
  'foreign_keys = ON',
] as const;

/**
 * Opens the embedded database and migrates it. One connection per process: Kysely serialises
 * every query and transaction on it, so an open transaction never waits on this process itself.
 */
export async function openSqliteDatabase(file: string): Promise<Db> {
  // Created owner-only: it holds user ids, file names and revenue summaries.
  privateSqliteFile(file);
  const sqlite = new SqliteDatabase(file);
  for (const pragma of SQLITE_PRAGMAS) sqlite.pragma(pragma);
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(sqlite) }),
  });
  await migrateToLatest(db as Kysely<unknown>, { dialect: 'sqlite' });
  return db;
}

/** Enough for every distinct query the service makes; the least recently used go first. */
export const CACHED_STATEMENTS = 500;

/**
 * Kysely prepares every query it runs, and better-sqlite3 compiles the SQL on every prepare:
 * under bench:load that was a twentieth of the API's CPU. Statements are kept per SQL text and
 * reused; one still being iterated (a stream left open) is never handed out twice.
 */
export function withStatementCache(sqlite: SqliteDatabase.Database): KyselySqliteDatabase {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text) {
      const cached = statements.get(text);
      if (cached) {
        statements.delete(text);
        statements.set(text, cached);
        if (!cached.busy) return cached;
        return sqlite.prepare(text);
      }
      const statement = sqlite.prepare(text);
      statements.set(text, statement);
      if (statements.size > CACHED_STATEMENTS) {
        const oldest = statements.keys().next().value;
        if (oldest !== undefined) statements.delete(oldest);
      }
      return statement;
    },
  };
}

export interface PostgresDatabaseOptions {
  /** Connections kept open at most (default 10); a query waits for a free one beyond that. */
  readonly poolSize?: number;
  /** Shown in pg_stat_activity, so an operator can tell the service's connections apart. */
  readonly applicationName?: string;
}

/**
 * Opens a PostgreSQL connection pool and migrates the database with the same numbered migrations
 * as SQLite. The schema is the connection's own (the first on its search_path, usually `public`).
 * `pg` is imported here, not at the top, so the embedded setup never loads it.
 */
export async function openPostgresDatabase(
  url: string,
  options: PostgresDatabaseOptions = {},
): Promise<Db> {
  const { default: pg } = await import('pg');
  await checkConnection(pg, url);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    application_name: options.applicationName ?? 'churnline',
    types: int8AsNumber(pg.types),
  });
  // A connection the server ends (restart, failover, pg_terminate_backend) emits 'error', which
  // without a listener node treats as a crash. An idle one's reaches the pool, which drops it and
  // opens a new one for the next query. A checked-out one's (a transaction between its queries)
  // reaches only the connection: the next query on it fails, which fails the transaction, and the
  // pool drops it on release. The fault tests' workers died of this when PostgreSQL restarted.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let schema: string | undefined;
  try {
    const { rows } = await sql<{
      schema: string | null;
    }>`select current_schema() as schema`.execute(db);
    schema = rows[0]?.schema ?? undefined;
    if (!schema) {
      throw new Error(
        'The PostgreSQL connection has no current schema: none of the schemas on its search_path exists. Create the schema or fix search_path.',
      );
    }
    await migrateToLatest(db as Kysely<unknown>, {
      dialect: 'postgres',
      migrationTableSchema: schema,
    });
  } catch (error) {
    await db.destroy();
    throw explainPostgresFailure(error, url, schema) ?? error;
  }
  return db;
}

/** How long start-up waits for PostgreSQL to accept a connection before it says so. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * One connection, opened and closed, before the pool: an unreachable server, a wrong password or
 * a missing database is reported at once and explained (the pool itself has no connect timeout,
 * so a silent network would otherwise hang start-up for the OS's TCP timeout).
 */
async function checkConnection(pg: typeof import('pg').default, url: string): Promise<void> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    throw explainPostgresFailure(error, url) ?? error;
  } finally {
    await client.end().catch(() => {});
  }
}
