import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './index.js';

describe('parseConfig', () => {
  it('defaults to the production design with no environment at all', () => {
    const config = parseConfig({}, '/srv/app');
    expect(config.dataDir).toBe('/srv/app/.churnline');
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.queue.kind).toBe('sqlite');
    expect(config.queue.file).toBe('/srv/app/.churnline/churnline.db');
    expect(config.queue.settings).toEqual({
      visibilityTimeoutSeconds: 300,
      receiveWaitTimeSeconds: 20,
      messageRetentionSeconds: 345_600,
      deadLetterRetentionSeconds: 1_209_600,
      maxReceiveCount: 3,
      maxMessageBytes: 262_144,
    });
    expect(config.alarms).toEqual({ deadLetterDepth: 5, oldestMessageAgeSeconds: 1800 });
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

  it('refuses a dead-letter retention shorter than the queue retention', () => {
    expect(() =>
      parseConfig({ QUEUE_RETENTION_S: '86400', QUEUE_DLQ_RETENTION_S: '3600' }),
    ).toThrow(/QUEUE_DLQ_RETENTION_S .* at least QUEUE_RETENTION_S/);
  });
});
