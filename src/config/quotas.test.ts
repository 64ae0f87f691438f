import { describe, expect, it } from 'vitest';
import { parseConfig } from './index.js';

describe('quota configuration', () => {
  it('has limits by default: 10 GiB stored, 500 uploads a day, 100 active jobs, 50 requests/s', () => {
    expect(parseConfig({}).quotas).toEqual({
      storedBytes: 10 * 1024 ** 3,
      uploadsPerDay: 500,
      activeJobs: 100,
      rate: { perSecond: 50, burst: 100 },
    });
  });

  it('reads each variable, 0 meaning unlimited, and a fractional rate', () => {
    const { quotas } = parseConfig({
      QUOTA_STORED_BYTES: '0',
      QUOTA_UPLOADS_PER_DAY: '3',
      QUOTA_ACTIVE_JOBS: '0',
      RATE_LIMIT_PER_SECOND: '0.5',
      RATE_LIMIT_BURST: '2',
    });
    expect(quotas).toEqual({
      storedBytes: 0,
      uploadsPerDay: 3,
      activeJobs: 0,
      rate: { perSecond: 0.5, burst: 2 },
    });
  });

  it('names the variable, the value and what is accepted', () => {
    expect(() => parseConfig({ QUOTA_STORED_BYTES: '10GB' })).toThrow(
      /QUOTA_STORED_BYTES \(got "10GB"\): must be a whole number from 0 to \d+; 0 means no limit on stored bytes/,
    );
    expect(() => parseConfig({ QUOTA_ACTIVE_JOBS: '-1' })).toThrow(
      /QUOTA_ACTIVE_JOBS \(got "-1"\)/,
    );
    expect(() => parseConfig({ RATE_LIMIT_BURST: '0' })).toThrow(
      /RATE_LIMIT_BURST \(got "0"\): must be a whole number of requests from 1/,
    );
    expect(() => parseConfig({ RATE_LIMIT_PER_SECOND: 'fast' })).toThrow(
      /RATE_LIMIT_PER_SECOND \(got "fast"\): must be a number/,
    );
  });
});
