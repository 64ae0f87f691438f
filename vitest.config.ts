import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'infra/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two cores: files run in parallel forks; each test owns its database file.
    pool: 'forks',
    // One PostgreSQL server for the whole run; each test isolates itself in its own schema.
    globalSetup: ['src/db/test-support/postgres-global-setup.ts'],
  },
});
