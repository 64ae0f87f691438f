/**
 * The two drivers behind one small interface, each used the way the service uses better-sqlite3
 * today: the same pragmas, prepared statements kept and reused, write transactions begun
 * IMMEDIATE where the queue does, and Kysely's SqliteDialect with the statement cache.
 */
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { CACHED_STATEMENTS, withStatementCache } from '../../src/db/connect.js';
import type { Database } from '../../src/db/schema.js';
import { type DatabaseSync, kyselyDatabase, type NodeSqlite } from './node-sqlite.js';

export type DriverId = 'better-sqlite3' | 'node:sqlite';
export const DRIVERS: readonly DriverId[] = ['better-sqlite3', 'node:sqlite'];

export interface Statement {
  run(...parameters: unknown[]): { changes: number | bigint };
  all(...parameters: unknown[]): unknown[];
}

export interface Driver {
  /** A prepared statement, kept by the caller and reused. */
  prepare(sql: string): Statement;
  exec(sql: string): void;
  /** Runs fn in a transaction (BEGIN IMMEDIATE when asked), committed unless it throws. */
  transaction<T>(fn: () => T, immediate?: boolean): T;
  /** Kysely on this connection, as src/db/connect.ts builds it. */
  kysely(): Kysely<Database>;
  close(): void;
}

/** better-sqlite3, optionally with an addon built for another Node (`nativeBinding`). */
export function openBetterSqlite3(
  file: string,
  pragmas: readonly string[],
  nativeBinding?: string,
): Driver {
  const db = new BetterSqlite3(file, nativeBinding ? { nativeBinding } : {});
  for (const pragma of pragmas) db.pragma(pragma);
  return {
    prepare: (sql) => {
      const statement = db.prepare(sql);
      return {
        run: (...parameters) => statement.run(...parameters),
        all: (...parameters) => statement.all(...parameters),
      };
    },
    exec: (sql) => db.exec(sql),
    // As the queue does: a transaction function made per call, run deferred or immediate.
    transaction: (fn, immediate = false) =>
      immediate ? db.transaction(fn).immediate() : db.transaction(fn)(),
    kysely: () =>
      new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(db) }) }),
    close: () => db.close(),
  };
}

export function openNodeSqlite(
  file: string,
  pragmas: readonly string[],
  sqlite: NodeSqlite,
): Driver {
  const db: DatabaseSync = new sqlite.DatabaseSync(file);
  // DatabaseSync has no pragma(): they are statements like any other.
  for (const pragma of pragmas) db.exec(`PRAGMA ${pragma}`);
  // Prepared once, as better-sqlite3's transaction functions do internally.
  const begin = db.prepare('BEGIN');
  const beginImmediate = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  return {
    prepare: (sql) => db.prepare(sql),
    exec: (sql) => db.exec(sql),
    transaction(fn, immediate = false) {
      (immediate ? beginImmediate : begin).run();
      let result: ReturnType<typeof fn>;
      try {
        result = fn();
      } catch (error) {
        rollback.run();
        throw error;
      }
      commit.run();
      return result;
    },
    kysely: () =>
      new Kysely<Database>({
        dialect: new SqliteDialect({ database: kyselyDatabase(db, CACHED_STATEMENTS) }),
      }),
    close: () => db.close(),
  };
}
