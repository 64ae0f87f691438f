import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './index.js';

describe('parseConfig', () => {
  it('defaults to the production design with no environment at all', () => {
    const config = parseConfig({}, '/srv/app');
    expect(config.dataDir).toBe('/srv/app/.churnline');
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.queue.kind).toBe('sqlite');
    expect(config.queue).toMatchObject({
      kind: 'sqlite',
      file: '/srv/app/.churnline/queue.db',
      pollIntervalMs: 50,
    });
    expect(config.database).toEqual({ kind: 'sqlite', file: '/srv/app/.churnline/churnline.db' });
    expect(config.blobs).toEqual({ kind: 'fs', root: '/srv/app/.churnline/blobs' });
    expect(config.auth).toEqual({ mode: 'local' });
    expect(config.worker).toEqual({ concurrency: 2, shutdownDeadlineSeconds: 30 });
    expect(config.uploads.maxBytes).toBe(5 * 1024 ** 3);
    expect(config.queue.settings).toEqual({
      visibilityTimeoutSeconds: 300,
      receiveWaitTimeSeconds: 20,
      messageRetentionSeconds: 345_600,
      deadLetterRetentionSeconds: 1_209_600,
      maxReceiveCount: 3,
      maxMessageBytes: 262_144,
      maxInFlightPerGroup: 0,
    });
    expect(config.alarms).toMatchObject({ deadLetterDepth: 5, oldestMessageAgeSeconds: 1800 });
    expect(config.webhooks).toEqual({ allowPrivate: false, allowHttp: false });
  });

  it('lets the operator open webhooks to private targets and http, and refuses a vague value', () => {
    const open = parseConfig({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_ALLOW_HTTP: 'true' });
    expect(open.webhooks).toEqual({ allowPrivate: true, allowHttp: true });
    expect(() => parseConfig({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'yes' })).toThrow(
      /WEBHOOK_ALLOW_PRIVATE_TARGETS \(got "yes"\): must be true or false; true lets users send webhooks to loopback/,
    );
  });

  it('is frozen all the way down', () => {
    const config = parseConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.queue.settings)).toBe(true);
    expect(() => {
      (config.queue.settings as { maxReceiveCount: number }).maxReceiveCount = 9;
    }).toThrow(TypeError);
  });

  it('reads values and treats empty variables as unset', () => {
    const config = parseConfig({ PORT: '9000', QUEUE_MAX_RECEIVE_COUNT: '5', LOG_LEVEL: '' });
    expect(config.http.port).toBe(9000);
    expect(config.queue.settings.maxReceiveCount).toBe(5);
    expect(config.logLevel).toBe('info');
  });

  it('names every variable at fault with what it got and what is accepted', () => {
    const error = (() => {
      try {
        parseConfig({ PORT: 'eighty', QUEUE_WAIT_TIME_S: '25', QUEUE: 'kafka' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('PORT (got "eighty"): must be a whole number from 0 to 65535');
    expect(message).toContain('QUEUE_WAIT_TIME_S (got "25"): must be a whole number from 0 to 20');
    expect(message).toMatch(/QUEUE \(got "kafka"\): .*sqlite/);
  });

  it('needs the issuer and audience when a JWKS URL is set', () => {
    expect(() =>
      parseConfig({ AUTH_JWKS_URL: 'https://example.auth0.com/.well-known/jwks.json' }),
    ).toThrow(
      /AUTH_ISSUER and AUTH_AUDIENCE must be set too.*missing: AUTH_ISSUER, AUTH_AUDIENCE/s,
    );
    const config = parseConfig({
      AUTH_JWKS_URL: 'https://example.auth0.com/.well-known/jwks.json',
      AUTH_ISSUER: 'https://example.auth0.com/',
      AUTH_AUDIENCE: 'https://api.churnline.example',
    });
    expect(config.auth).toMatchObject({ mode: 'jwks', audience: 'https://api.churnline.example' });
    expect(() => parseConfig({ ALARM_WEBHOOK_URL: 'ftp://x' })).toThrow(
      /ALARM_WEBHOOK_URL .*http\(s\) URL/,
    );
  });

  it('scales out by configuration only: PostgreSQL, SQS and S3', () => {
    const config = parseConfig({
      DATABASE_URL: 'postgres://churnline@db.internal:5432/churnline',
      QUEUE: 'sqs',
      SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/predictions',
      SQS_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/predictions-dlq',
      BLOBS: 's3',
      S3_BUCKET: 'churnline-prod',
      S3_PREFIX: 'churnline/',
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4566',
    });
    expect(config.database).toEqual({
      kind: 'postgres',
      url: 'postgres://churnline@db.internal:5432/churnline',
      poolSize: 10,
    });
    expect(config.queue).toMatchObject({
      kind: 'sqs',
      aws: { region: 'eu-west-1', endpoint: undefined },
    });
    expect(config.blobs).toMatchObject({
      kind: 's3',
      bucket: 'churnline-prod',
      prefix: 'churnline/',
      serverSideEncryption: { kind: 'AES256' },
      aws: { region: 'eu-west-1', endpoint: 'http://127.0.0.1:4566' },
    });
    const onPostgres = parseConfig({ DATABASE_URL: 'postgresql://x@h/db', QUEUE: 'postgres' });
    expect(onPostgres.queue).toMatchObject({
      kind: 'postgres',
      url: 'postgresql://x@h/db',
      pollIntervalMs: 1000,
    });
  });

  it.each([
    [{ QUEUE: 'postgres' }, /DATABASE_URL is not set: QUEUE=postgres/],
    [{ QUEUE: 'sqs', SQS_QUEUE_URL: 'https://sqs.x/1/q' }, /SQS_DLQ_URL is not set/],
    [{ BLOBS: 's3' }, /S3_BUCKET is not set/],
    [{ DATABASE_URL: 'postgres://h/db' }, /QUEUE=sqlite with DATABASE_URL/],
    [{ DATABASE_URL: 'mysql://h/db' }, /DATABASE_URL .*must be a postgres:\/\/ URL/],
    [{ BLOBS: 's3', S3_BUCKET: 'bucket', S3_SSE_KMS_KEY_ID: 'k' }, /S3_SSE is not aws:kms/],
    [{ BLOBS: 's3', S3_BUCKET: 'bucket', S3_PREFIX: '/abs' }, /S3_PREFIX .*whole path segments/],
  ])('refuses an invalid combination at start: %j', (env, message) => {
    expect(() => parseConfig(env)).toThrow(message);
  });

  it('caps the jobs of one user running at once on the SQL queues, and refuses a cap on SQS', () => {
    expect(parseConfig({ QUEUE_MAX_IN_FLIGHT_PER_GROUP: '4' }).queue.settings).toMatchObject({
      maxInFlightPerGroup: 4,
    });
    expect(() => parseConfig({ QUEUE_MAX_IN_FLIGHT_PER_GROUP: '-1' })).toThrow(
      /QUEUE_MAX_IN_FLIGHT_PER_GROUP \(got "-1"\): must be a whole number from 0 to 100000/,
    );
    expect(() =>
      parseConfig({
        QUEUE: 'sqs',
        SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/q',
        SQS_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/1/q-dlq',
        QUEUE_MAX_IN_FLIGHT_PER_GROUP: '2',
      }),
    ).toThrow(/QUEUE_MAX_IN_FLIGHT_PER_GROUP \(got 2\) with QUEUE=sqs: .* no cap per user/);
  });

  it('refuses a dead-letter retention shorter than the queue retention', () => {
    expect(() =>
      parseConfig({ QUEUE_RETENTION_S: '86400', QUEUE_DLQ_RETENTION_S: '3600' }),
    ).toThrow(/QUEUE_DLQ_RETENTION_S .* at least QUEUE_RETENTION_S/);
  });
});
