import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestSchema, type TestSchema } from '../db/test-support/postgres.js';
import { runCli } from './test-support/run-cli.js';

const dirs: string[] = [];
const schemas: TestSchema[] = [];
afterAll(async () => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  await Promise.all(schemas.splice(0).map((schema) => schema.drop()));
});

async function envFor(engine: 'sqlite' | 'postgres'): Promise<Record<string, string>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'churnline-cli-'));
  dirs.push(dir);
  if (engine === 'sqlite') return { CHURNLINE_DATA_DIR: dir };
  const schema = await createTestSchema();
  schemas.push(schema);
  return { CHURNLINE_DATA_DIR: dir, DATABASE_URL: schema.url, QUEUE: 'postgres' };
}

describe.each(['sqlite', 'postgres'] as const)('churnline quota on %s', (engine) => {
  it("sets, shows and clears a user's own limits over the configured defaults", async () => {
    const env = { ...(await envFor(engine)), QUOTA_UPLOADS_PER_DAY: '20' };
    const set = await runCli(
      ['quota', 'set', '--user', 'alice', '--stored-bytes', '50GiB', '--rate', '0.5'],
      env,
    );
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({
      user: 'alice',
      overrides: { storedBytes: 50 * 1024 ** 3, ratePerSecond: 0.5 },
    });
    await runCli(
      ['quota', 'set', '--user', 'alice', '--rate', 'default', '--active-jobs', '0'],
      env,
    );
    const shown = JSON.parse((await runCli(['quota', 'show', '--user', 'alice'], env)).stdout);
    expect(shown).toMatchObject({
      user: 'alice',
      limits: {
        storedBytes: 50 * 1024 ** 3,
        uploadsPerDay: 20,
        activeJobs: 0,
        rate: { perSecond: 50, burst: 100 },
      },
      overrides: { storedBytes: 50 * 1024 ** 3, activeJobs: 0 },
      usage: { storedBytes: 0, uploadsToday: 0, activePredictions: 0, activeTrainings: 0 },
    });
    expect(JSON.parse((await runCli(['quota', 'clear', '--user', 'alice'], env)).stdout)).toEqual({
      user: 'alice',
      cleared: true,
    });
    const cleared = JSON.parse((await runCli(['quota', 'show', '--user', 'alice'], env)).stdout);
    expect(cleared.overrides).toEqual({});
    expect(cleared.limits.storedBytes).toBe(10 * 1024 ** 3);
  });
});

describe('churnline quota input', () => {
  it('exits 2 with one clear line for a bad value or nothing to set', async () => {
    const env = await envFor('sqlite');
    const bad = await runCli(['quota', 'set', '--user', 'alice', '--uploads-per-day', 'lots'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      'churnline: --uploads-per-day "lots": must be a whole number from 0 to 1000000; 0 means no limit on uploads a day; or "default" for the configured default.',
    );
    const nothing = await runCli(['quota', 'set', '--user', 'alice'], env);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('quota set changes nothing');
  });
});
