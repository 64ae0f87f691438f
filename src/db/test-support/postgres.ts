import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test run's PostgreSQL server (postgres-global-setup.ts), database `postgres`. */
    postgresUrl: string;
  }
}

export interface TestSchema {
  readonly schema: string;
  /** The server's URL with `search_path` set to this schema, for every connection it opens. */
  readonly url: string;
  /** Drops the schema and everything in it; close every pool on `url` first. */
  drop(): Promise<void>;
}

/**
 * A fresh, empty schema on the run's PostgreSQL server. Tests and the child processes they spawn
 * connect with `url`, whose `options` parameter puts the schema first on the search path, so
 * unqualified table names land in it and parallel files never see each other's tables.
 */
export async function createTestSchema(): Promise<TestSchema> {
  const serverUrl = inject('postgresUrl');
  if (!serverUrl) {
    throw new Error(
      'No PostgreSQL server for this run: vitest.config.ts must list src/db/test-support/postgres-global-setup.ts in globalSetup.',
    );
  }
  const schema = `test_${randomBytes(6).toString('hex')}`;
  await runAdminStatement(serverUrl, `CREATE SCHEMA ${schema}`);
  const url = new URL(serverUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    schema,
    url: url.toString(),
    drop: () => runAdminStatement(serverUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE`),
  };
}

async function runAdminStatement(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
