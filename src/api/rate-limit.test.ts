import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.js';

/** A limiter on a clock the test moves (milliseconds). */
function limiter(perSecond: number, burst: number) {
  let now = 0;
  const limiter = new RateLimiter(() => now);
  const settings = { perSecond, burst };
  return {
    rate: {
      take: (user: string) => limiter.take(user, settings),
      peek: (user: string) => limiter.peek(user, settings),
      get size() {
        return limiter.size;
      },
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('RateLimiter', () => {
  it('allows a burst, then one request per 1/rate seconds', () => {
    const { rate, advance } = limiter(2, 3);
    expect([1, 2, 3].map(() => rate.take('a').allowed)).toEqual([true, true, true]);
    expect(rate.take('a')).toEqual({
      allowed: false,
      remaining: 0,
      retryAfterSeconds: 1,
      fullInSeconds: 2,
    });
    advance(499);
    expect(rate.take('a').allowed).toBe(false);
    advance(2);
    expect(rate.take('a')).toMatchObject({ allowed: true, remaining: 0 });
    advance(10_000);
    expect(rate.take('a')).toMatchObject({ allowed: true, remaining: 2, fullInSeconds: 1 });
  });

  it('says how long to wait for a slow rate, and keeps users apart', () => {
    const { rate } = limiter(0.01, 1);
    expect(rate.take('a').allowed).toBe(true);
    expect(rate.take('a')).toMatchObject({ allowed: false, retryAfterSeconds: 100 });
    expect(rate.take('b').allowed).toBe(true);
    expect(rate.peek('a')).toBe(0);
    expect(rate.peek('c')).toBe(1);
  });

  it('forgets the buckets that have refilled, so memory follows active users', () => {
    const { rate, advance } = limiter(10, 10);
    for (let i = 0; i < 1000; i++) rate.take(`user-${i}`);
    expect(rate.size).toBe(1000);
    advance(30_000);
    rate.take('busy');
    advance(30_000); // the sweep runs at most once a minute
    rate.take('busy');
    expect(rate.size).toBe(1);
  });

  it("follows a user's new settings, keeping what they had used", () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    for (let i = 0; i < 5; i++) limiter.take('a', { perSecond: 1, burst: 5 });
    expect(limiter.take('a', { perSecond: 1, burst: 5 }).allowed).toBe(false);
    // Raised: the bucket grows, and refills at the new rate.
    now += 100;
    expect(limiter.take('a', { perSecond: 10, burst: 50 })).toMatchObject({ allowed: true });
    // Lowered: never more tokens than the new burst.
    now += 60_000;
    expect(limiter.peek('a', { perSecond: 1, burst: 2 })).toBe(2);
  });
});
