import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { uploadKey } from '../ids.js';
import {
  type DeliverWebhookJob,
  decodeJobMessage,
  encodeJobMessage,
  type ScoreJob,
  type TrainJob,
} from './message.js';
import { loadOrCreateLocalSigningKeys, parseSigningKeys } from './signing-keys.js';

const secret = () => randomBytes(32).toString('base64');
const keys = parseSigningKeys(`k2:${secret()}`);

function job(overrides: Partial<ScoreJob> = {}): ScoreJob {
  const userId = overrides.userId ?? 'auth0|5f7c8ec7c33c6c004bbafe82';
  const uploadId = overrides.uploadId ?? randomUUID();
  return {
    predictionId: randomUUID(),
    userId,
    uploadId,
    objectKey: uploadKey(userId, uploadId),
    modelId: 'telco-v1',
    publishedAt: new Date().toISOString(),
    ...overrides,
  };
}

/** Re-signs a tampered job with a real key, so only the check under test can refuse it. */
function forge(fields: Record<string, unknown>): string {
  const body = JSON.parse(encodeJobMessage(job(), keys));
  const jobJson = JSON.stringify({ ...JSON.parse(body.job), ...fields });
  const sig = createHmac('sha256', keys.active.secret)
    .update(`churnline-job-v1.${jobJson}`)
    .digest('base64url');
  return JSON.stringify({ ...body, job: jobJson, sig });
}

describe('job kinds', () => {
  it('sends scoring jobs without a kind, as before kinds, and reads either spelling', () => {
    const sent = job();
    const body = JSON.parse(encodeJobMessage(sent, keys));
    expect(Object.keys(JSON.parse(body.job))).toEqual([
      'predictionId',
      'userId',
      'uploadId',
      'objectKey',
      'modelId',
      'publishedAt',
    ]);
    expect(decodeJobMessage(encodeJobMessage({ ...sent, kind: 'score' }, keys), keys)).toEqual(
      sent,
    );
  });

  it('round-trips a training job, and refuses one that mixes in a scoring field', () => {
    const userId = 'alice';
    const uploadId = randomUUID();
    const train: TrainJob = {
      kind: 'train',
      modelId: randomUUID(),
      userId,
      uploadId,
      objectKey: uploadKey(userId, uploadId),
      publishedAt: new Date().toISOString(),
    };
    expect(decodeJobMessage(encodeJobMessage(train, keys), keys)).toEqual(train);
    const body = JSON.parse(encodeJobMessage(train, keys));
    const jobJson = JSON.stringify({ ...JSON.parse(body.job), predictionId: randomUUID() });
    const sig = createHmac('sha256', keys.active.secret)
      .update(`churnline-job-v1.${jobJson}`)
      .digest('base64url');
    expect(() => decodeJobMessage(JSON.stringify({ ...body, job: jobJson, sig }), keys)).toThrow(
      /job is invalid/,
    );
    expect(() => encodeJobMessage({ ...train, modelId: 'telco-v1' } as TrainJob, keys)).toThrow();
  });

  it('round-trips chunk and assembly jobs, and refuses a chunk without its number', () => {
    const chunk = { ...job(), kind: 'score-chunk' as const, chunk: 4 };
    expect(decodeJobMessage(encodeJobMessage(chunk, keys), keys)).toEqual(chunk);
    const { chunk: _, ...named } = chunk;
    const assembly = { ...named, kind: 'assemble' as const };
    expect(decodeJobMessage(encodeJobMessage(assembly, keys), keys)).toEqual(assembly);
    expect(() => decodeJobMessage(forge({ kind: 'score-chunk' }), keys)).toThrow(/job is invalid/);
    expect(() => decodeJobMessage(forge({ kind: 'assemble', chunk: 1 }), keys)).toThrow(
      /job is invalid/,
    );
    for (const bad of [-1, 1.5, '2']) {
      expect(() => encodeJobMessage({ ...chunk, chunk: bad as number }, keys)).toThrow();
    }
  });

  it('carries webhook delivery attempts, and only well-formed ones', () => {
    const attempt: DeliverWebhookJob = {
      kind: 'deliver-webhook',
      deliveryId: `msg_${'ab'.repeat(16)}`,
      userId: 'auth0|alice',
      attempt: 3,
      publishedAt: new Date().toISOString(),
    };
    expect(decodeJobMessage(encodeJobMessage(attempt, keys), keys)).toEqual(attempt);
    for (const bad of [
      { ...attempt, deliveryId: 'msg_../../x' },
      { ...attempt, attempt: 0 },
      { ...attempt, url: 'http://169.254.169.254/' },
    ]) {
      expect(() => encodeJobMessage(bad as DeliverWebhookJob, keys)).toThrow();
    }
  });
});

describe('job message', () => {
  it('round-trips: what the publisher sends, the worker accepts unchanged', () => {
    const sent = job();
    expect(decodeJobMessage(encodeJobMessage(sent, keys), keys)).toEqual(sent);
  });

  it('refuses a message whose signature does not match (tampered or wrong key)', () => {
    const body = JSON.parse(encodeJobMessage(job(), keys));
    const tampered = JSON.stringify({ ...body, job: body.job.replace('telco-v1', 'telco-v2') });
    expect(() => decodeJobMessage(tampered, keys)).toThrow('message signature does not match');
    const other = parseSigningKeys(`k2:${secret()}`);
    expect(() => decodeJobMessage(encodeJobMessage(job(), other), keys)).toThrow(
      'signature does not match',
    );
    expect(() =>
      decodeJobMessage(encodeJobMessage(job(), parseSigningKeys(`zz:${secret()}`)), keys),
    ).toThrow('unknown key id zz');
  });

  it('verifies with an older key after rotation, and signs with the newest', () => {
    const old = `k1:${secret()}`;
    const before = parseSigningKeys(old);
    const after = parseSigningKeys(`k2:${secret()},${old}`);
    const inFlight = encodeJobMessage(job(), before);
    expect(decodeJobMessage(inFlight, after)).toMatchObject({ modelId: 'telco-v1' });
    expect(JSON.parse(encodeJobMessage(job(), after)).kid).toBe('k2');
  });

  it('refuses a replay older than 24 h and a message from more than 1 h ahead', () => {
    const now = Date.now();
    const old = encodeJobMessage(
      job({ publishedAt: new Date(now - 24 * 3600_000 - 1000).toISOString() }),
      keys,
    );
    expect(() => decodeJobMessage(old, keys, now)).toThrow(/more than 24 h ago/);
    const ahead = encodeJobMessage(
      job({ publishedAt: new Date(now + 3600_000 + 1000).toISOString() }),
      keys,
    );
    expect(() => decodeJobMessage(ahead, keys, now)).toThrow(/1 h in the future/);
    const fine = encodeJobMessage(
      job({ publishedAt: new Date(now - 23 * 3600_000).toISOString() }),
      keys,
    );
    expect(decodeJobMessage(fine, keys, now)).toMatchObject({ modelId: 'telco-v1' });
  });

  it.each([
    ['a traversal key', { objectKey: 'users/alice/uploads/../../etc/passwd.csv' }, /objectKey/],
    ["another user's key", { objectKey: uploadKey('mallory', randomUUID()) }, /user's prefix/],
    [
      'a key of another upload',
      { objectKey: uploadKey('auth0|5f7c8ec7c33c6c004bbafe82', randomUUID()) },
      /not the upload/,
    ],
    ['a bad user id', { userId: '../root' }, /userId/],
    ['a non-UUID prediction id', { predictionId: '1; DROP TABLE' }, /predictionId/],
    ['an unexpected field', { admin: true }, /admin|Unrecognized/i],
  ])('refuses %s even when properly signed', (_name, fields, reason) => {
    expect(() => decodeJobMessage(forge(fields), keys)).toThrow(reason);
  });

  it('refuses what is not a message at all', () => {
    expect(() => decodeJobMessage('not json', keys)).toThrow('message body is not JSON');
    expect(() => decodeJobMessage('{"v":2}', keys)).toThrow(/envelope is invalid/);
  });

  it('validates JOB_SIGNING_KEYS with a message that says how to fix it', () => {
    expect(() => parseSigningKeys('k1:c2hvcnQ=')).toThrow(/at least 32 random bytes/);
    expect(() => parseSigningKeys('no-secret')).toThrow(/keyid:base64secret/);
  });

  it('creates one local key on first start and reuses it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'churnline-keys-'));
    try {
      const first = loadOrCreateLocalSigningKeys(dir);
      const second = loadOrCreateLocalSigningKeys(dir);
      expect(second.active.secret.equals(first.active.secret)).toBe(true);
      expect(decodeJobMessage(encodeJobMessage(job(), first), second)).toMatchObject({
        modelId: 'telco-v1',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
