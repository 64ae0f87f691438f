import { describe, expect, it } from 'vitest';
import { VERIFIED_TOKEN_TTL_MS, VerifiedTokens } from './verified-tokens.js';

const alice = { userId: 'alice' };

describe('VerifiedTokens', () => {
  it('remembers a verified token for a minute at most', () => {
    let now = 1_000_000_000_000;
    const tokens = new VerifiedTokens(() => now);
    tokens.remember('a.b.c', alice, now / 1000 + 3600);
    expect(tokens.get('a.b.c')).toEqual(alice);
    expect(tokens.get('a.b.d')).toBeUndefined();
    now += VERIFIED_TOKEN_TTL_MS - 1;
    expect(tokens.get('a.b.c')).toEqual(alice);
    now += 1;
    expect(tokens.get('a.b.c')).toBeUndefined();
  });

  it('never past the token’s own expiry, and not at all without one', () => {
    let now = 1_000_000_000_000;
    const tokens = new VerifiedTokens(() => now);
    tokens.remember('short', alice, now / 1000 + 5);
    tokens.remember('expired', alice, now / 1000 - 1);
    tokens.remember('no-exp', alice, undefined);
    expect(tokens.get('short')).toEqual(alice);
    expect(tokens.get('expired')).toBeUndefined();
    expect(tokens.get('no-exp')).toBeUndefined();
    now += 5_000;
    expect(tokens.get('short')).toBeUndefined();
  });
});
