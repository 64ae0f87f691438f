import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/index.js';
import { requireAwsRegion } from './region.js';

/** The SDK reads these for a region: each test sets them itself and puts them back. */
const NAMES = ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_CONFIG_FILE'] as const;

describe('an AWS region', () => {
  const saved = new Map<string, string | undefined>();
  let dir: string;
  beforeEach(() => {
    for (const name of NAMES) {
      saved.set(name, process.env[name]);
      delete process.env[name];
    }
    dir = mkdtempSync(path.join(tmpdir(), 'churnline-region-'));
  });
  afterEach(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('is required for S3 or SQS: start-up stops, naming the variable and the fix', async () => {
    process.env.AWS_CONFIG_FILE = path.join(dir, 'none');
    const refused = requireAwsRegion(undefined, 'S3 (BLOBS=s3)');
    await expect(refused).rejects.toBeInstanceOf(ConfigError);
    await expect(refused).rejects.toThrow(
      /AWS_REGION is not set, and no AWS profile names a region: S3 \(BLOBS=s3\) needs one\. Set AWS_REGION/,
    );
  });

  it('may come from the configuration or from the profile the SDK reads', async () => {
    await expect(requireAwsRegion('eu-west-1', 'S3 (BLOBS=s3)')).resolves.toBeUndefined();
    const config = path.join(dir, 'config');
    writeFileSync(config, '[default]\nregion = eu-central-1\n');
    process.env.AWS_CONFIG_FILE = config;
    await expect(requireAwsRegion(undefined, 'SQS (QUEUE=sqs)')).resolves.toBeUndefined();
  });
});
