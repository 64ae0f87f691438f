import type { TestProject } from 'vitest/node';
import { PostgresUnreachableError, startEmbeddedPostgres } from './embedded-postgres.js';

/**
 * Vitest globalSetup: ONE PostgreSQL server for the whole run, started before any test file and
 * stopped after the last one. Test files reach it through `inject('postgresUrl')` and isolate
 * themselves in a schema of their own (see createTestSchema).
 */
export default async function startPostgresForTests(project: TestProject) {
  const server = await startEmbeddedPostgres({
    serverFlags: [
      // Throwaway data: durability buys nothing here, and fsync per commit would make the
      // suite's speed depend on the machine's disk.
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      // Parallel test files, each with pools, listeners and child processes.
      '-c',
      'max_connections=300',
    ],
  }).catch((error: unknown) => {
    // What to do, in one line, rather than a stack trace under "Unhandled Error".
    if (!(error instanceof PostgresUnreachableError)) throw error;
    process.stderr.write(`\n${error.message}\n\n`);
    process.exit(1);
  });
  project.provide('postgresUrl', server.url);
  return async () => {
    await server.stop();
  };
}
