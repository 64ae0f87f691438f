/**
 * Tokens that passed verification, remembered briefly so that a client sending the same token
 * with every request costs one signature check a minute instead of one per request (under load
 * it was the API's largest single cost). Only successes are kept, never past the token's own
 * expiry, and keyed by a digest of the whole token, so any other token is verified in full.
 */
import { createHash } from 'node:crypto';
import type { AuthenticatedUser } from './verifier.js';

/** How long a verdict stands: key set rotations on the provider's side show within this. */
export const VERIFIED_TOKEN_TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;

export class VerifiedTokens {
  private readonly entries = new Map<string, { user: AuthenticatedUser; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  get(token: string): AuthenticatedUser | undefined {
    const key = digest(token);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.now() >= entry.until) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.user;
  }

  /** `expiresAt`: the token's `exp` claim, in seconds since the epoch. */
  remember(token: string, user: AuthenticatedUser, expiresAt: number | undefined): void {
    if (expiresAt === undefined) return;
    const until = Math.min(expiresAt * 1000, this.now() + VERIFIED_TOKEN_TTL_MS);
    if (until <= this.now()) return;
    if (this.entries.size >= MAX_ENTRIES) {
      // Insertion order: the oldest verdict goes first.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(digest(token), { user, until });
  }
}

const digest = (token: string) => createHash('sha256').update(token).digest('base64url');
