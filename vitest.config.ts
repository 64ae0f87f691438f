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
    // On Node 20 the AWS SDK prints nine lines in every process that builds a client; the
    // service says it once in its log instead (src/aws/node-support.ts), tests not at all.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
