import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAws, startLocalAws } from '../src/aws/test-support/local-aws.js';
import { startCli } from '../src/cli/test-support/run-cli.js';
import { parseSigningKeys, signingKeyFingerprint } from '../src/jobs/signing-keys.js';
import { createBucket } from './support/local-aws-resources.js';
import { type RunningService, startService } from './support/service.js';

const cleanups: Array<() => Promise<void>> = [];
let aws: LocalAws;
const savedEnv = { ...process.env };

beforeAll(async () => {
  aws = await startLocalAws();
  process.env.AWS_ACCESS_KEY_ID = aws.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = aws.credentials.secretAccessKey;
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  process.env = savedEnv;
  await aws.stop();
});

/** The service on S3 (fauxqs) with the embedded database and queue. */
function s3Env(bucket: string): Record<string, string> {
  return {
    BLOBS: 's3',
    S3_BUCKET: bucket,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_REGION: aws.region,
    AWS_ENDPOINT_URL: aws.endpoint,
  };
}

async function start(env: Record<string, string>): Promise<RunningService> {
  const service = await startService(env);
  cleanups.push(() => service.stop());
  return service;
}

async function health(service: RunningService) {
  const healthz = (await (await fetch(`${service.url}/healthz`)).json()) as {
    status: string;
    dependencies: Array<{ name: string; state: string; detail?: string }>;
    signingKeys: unknown;
  };
  const readyz = await fetch(`${service.url}/readyz`);
  return {
    healthz,
    readyStatus: readyz.status,
    ready: (await readyz.json()) as { problems: string[] },
  };
}

describe('health that says what is not working', () => {
  it('is ok with every backend checked, and publishes the signing key id, never the secret', async () => {
    const service = await start(s3Env(await createBucket(aws)));
    const { healthz, readyStatus } = await health(service);
    expect(readyStatus).toBe(200);
    expect(healthz.status).toBe('ok');
    expect(healthz.dependencies.map((d) => [d.name, d.state])).toEqual([
      ['database', 'ok'],
      ['queue', 'ok'],
      ['blobs', 'ok'],
    ]);
    const keys = parseSigningKeys(service.env.JOB_SIGNING_KEYS as string);
    const fingerprint = signingKeyFingerprint(keys.active);
    expect(healthz.signingKeys).toEqual({ signsWith: 'test1', fingerprint, verifies: ['test1'] });
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain(
      `churnline_signing_key_info{kid="test1",fingerprint="${fingerprint}",signs="true"} 1`,
    );
    expect(metrics).not.toContain(keys.active.secret.toString('base64'));
    // The probe object is gone again.
    expect(await service.app.blobs.list('health/')).toEqual([]);
  });

  it('is degraded and not ready when the bucket does not exist, naming S3_BUCKET', async () => {
    const service = await start(s3Env('no-such-bucket'));
    const { healthz, readyStatus, ready } = await health(service);
    expect(healthz.status).toBe('degraded');
    expect(healthz.dependencies.find((d) => d.name === 'blobs')).toMatchObject({
      state: 'failing',
      detail: expect.stringMatching(/^The configured S3 bucket does not exist; check S3_BUCKET/),
    });
    expect(readyStatus).toBe(503);
    expect(ready.problems).toEqual([
      expect.stringMatching(
        /^Amazon S3 bucket no-such-bucket \(S3_BUCKET\): The configured S3 bucket does not exist; check S3_BUCKET and the region\./,
      ),
    ]);
  });

  it('is degraded and not ready with unusable AWS credentials, saying where credentials come from', async () => {
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE'])
      delete process.env[name];
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials';
    process.env.AWS_CONFIG_FILE = '/nonexistent/config';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    try {
      const service = await start(s3Env(await createBucketWith(aws)));
      const { healthz, ready } = await health(service);
      expect(healthz.status).toBe('degraded');
      expect(ready.problems[0]).toMatch(
        /^Amazon S3 bucket \S+ \(S3_BUCKET\): AWS credentials are unusable for S3 \(CredentialsProviderError: .*\)\. They come from the SDK's standard chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the task or instance role; fix or provide them\.$/,
      );
    } finally {
      process.env.AWS_ACCESS_KEY_ID = aws.credentials.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = aws.credentials.secretAccessKey;
      for (const name of [
        'AWS_SHARED_CREDENTIALS_FILE',
        'AWS_CONFIG_FILE',
        'AWS_EC2_METADATA_DISABLED',
      ])
        delete process.env[name];
    }
  });

  it('keeps the start-up banner from saying "running" when a backend fails, and says which and why', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'churnline-banner-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const server = startCli(['serve'], {
      ...s3Env('no-such-bucket'),
      CHURNLINE_DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'silent',
    });
    const exited = new Promise((resolve) => server.once('exit', resolve));
    cleanups.push(async () => {
      server.kill('SIGTERM');
      await exited;
    });
    const banner: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner: ${banner.join('\n')}`)), 30_000);
      createInterface({ input: server.stdout! }).on('line', (line) => {
        banner.push(line);
        if (line.startsWith('Dashboard')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const text = banner.join('\n');
    expect(text).not.toContain('Churnline is running');
    expect(text).toMatch(
      /Churnline started at http:\/\/127\.0\.0\.1:\d+, but is not working yet \(http:\/\/127\.0\.0\.1:\d+\/readyz answers 503 until this is fixed\):\n {2}- Amazon S3 bucket no-such-bucket \(S3_BUCKET\): The configured S3 bucket does not exist; check S3_BUCKET and the region\./,
    );
  });
});

/** A bucket made with the test's own credentials, whatever the environment holds meanwhile. */
async function createBucketWith(local: LocalAws): Promise<string> {
  const saved = { ...process.env };
  process.env.AWS_ACCESS_KEY_ID = local.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = local.credentials.secretAccessKey;
  try {
    return await createBucket(local);
  } finally {
    process.env = saved;
  }
}
