/**
 * What Kysely needs to run on Node's built-in node:sqlite (DatabaseSync): Kysely's SqliteDialect
 * expects a better-sqlite3-like handle (`prepare(sql)` returning a statement with `reader`,
 * `all`, `run` and `iterate` that take the parameters as one array). node:sqlite has the same
 * methods with spread parameters, and says whether a statement returns rows through `columns()`
 * (Node >= 22.16 / 23.11), so the adapter is this file's `kyselyDatabase`, statement cache
 * included (the service caches prepared statements, src/db/connect.ts).
 *
 * node:sqlite is loaded with require, not imported: this project's @types/node is Node 20's,
 * which has no node:sqlite, so the few types used are written out here.
 */
import { createRequire } from 'node:module';
import type { SqliteDatabase as KyselySqliteDatabase, SqliteStatement } from 'kysely';

type Value = null | number | bigint | string | Uint8Array;

export interface StatementSync {
  run(...parameters: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  all(...parameters: unknown[]): unknown[];
  get(...parameters: unknown[]): unknown;
  iterate(...parameters: unknown[]): IterableIterator<unknown>;
  columns?(): unknown[];
}

export interface DatabaseSync {
  exec(sql: string): void;
  prepare(sql: string): StatementSync;
  close(): void;
}

export interface NodeSqlite {
  DatabaseSync: new (file: string) => DatabaseSync;
}

/** node:sqlite, or the reason this Node has none (older than 22.5, or without its flag). */
export function loadNodeSqlite(): NodeSqlite | Error {
  try {
    return createRequire(import.meta.url)('node:sqlite') as NodeSqlite;
  } catch (error) {
    return error as Error;
  }
}

/** Statements that return rows, for a Node whose StatementSync has no columns() yet. */
const RETURNS_ROWS = /^\s*(select|with|pragma|values|explain)\b|\breturning\b/i;

interface CachedStatement extends SqliteStatement {
  /** An iterator is open on it: hand out a fresh statement instead. */
  open: number;
}

function adapt(statement: StatementSync, text: string): CachedStatement {
  const adapted: CachedStatement = {
    open: 0,
    reader: statement.columns ? statement.columns().length > 0 : RETURNS_ROWS.test(text),
    all: (parameters) => statement.all(...(parameters as Value[])),
    run: (parameters) => statement.run(...(parameters as Value[])),
    *iterate(parameters) {
      adapted.open++;
      try {
        yield* statement.iterate(...(parameters as Value[]));
      } finally {
        adapted.open--;
      }
    },
  };
  return adapted;
}

/** A Kysely SqliteDialect `database` on node:sqlite, with the service's statement cache. */
export function kyselyDatabase(db: DatabaseSync, cacheSize: number): KyselySqliteDatabase {
  const statements = new Map<string, CachedStatement>();
  return {
    close: () => db.close(),
    prepare(text) {
      const cached = statements.get(text);
      if (cached) {
        statements.delete(text);
        statements.set(text, cached);
        return cached.open === 0 ? cached : adapt(db.prepare(text), text);
      }
      const statement = adapt(db.prepare(text), text);
      statements.set(text, statement);
      if (statements.size > cacheSize) {
        const oldest = statements.keys().next().value;
        if (oldest !== undefined) statements.delete(oldest);
      }
      return statement;
    },
  };
}
