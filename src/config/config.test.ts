import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './index.js';

describe('parseConfig', () => {
  it('defaults to the production design with no environment at all', () => {
    const config = parseConfig({}, '/srv/app');
    expect(config.dataDir).toBe('/srv/app/.churnline');
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.queue.kind).toBe('sqlite');
    expect(config.queue.file).toBe('/srv/app/.churnline/queue.db');
    expect(config.database.file).toBe('/srv/app/.churnline/churnline.db');
    expect(config.auth).toEqual({ mode: 'local' });
    expect(config.worker).toEqual({ concurrency: 2, shutdownDeadlineSeconds: 30 });
    expect(config.uploads.maxBytes).toBe(200 * 1024 * 1024);
    expect(config.queue.settings).toEqual({
      visibilityTimeoutSeconds: 300,
      receiveWaitTimeSeconds: 20,
      messageRetentionSeconds: 345_600,
      deadLetterRetentionSeconds: 1_209_600,
      maxReceiveCount: 3,
      maxMessageBytes: 262_144,
    });
    expect(config.alarms).toMatchObject({ deadLetterDepth: 5, oldestMessageAgeSeconds: 1800 });
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

  it('refuses a dead-letter retention shorter than the queue retention', () => {
    expect(() =>
      parseConfig({ QUEUE_RETENTION_S: '86400', QUEUE_DLQ_RETENTION_S: '3600' }),
    ).toThrow(/QUEUE_DLQ_RETENTION_S .* at least QUEUE_RETENTION_S/);
  });
});
