/**
 * Requests per second per user: a token bucket in this API process. Each user's bucket holds up to
 * `burst` tokens, refills at `perSecond`, and each request takes one. Only users seen recently
 * have a bucket: a full one is forgotten (an absent bucket reads as full), so memory follows the
 * users active in the last burst / perSecond seconds.
 *
 * Per process: with N API processes behind a balancer, a user may get up to N times the rate.
 * The quotas that hold state (stored bytes, uploads a day, active jobs) are checked in the
 * database and hold across processes; this one protects each process's CPU and the database
 * behind it, which is what a per-process bucket is for.
 */
import type { FastifyReply } from 'fastify';
import { ApiError } from './errors.js';

export interface RateLimitSettings {
  /** Tokens added per second; 0 turns the limit off. */
  readonly perSecond: number;
  readonly burst: number;
}

export interface RateDecision {
  readonly allowed: boolean;
  /** Whole tokens left after this request. */
  readonly remaining: number;
  /** Seconds until a request would be allowed (0 when allowed now). */
  readonly retryAfterSeconds: number;
  /** Seconds until the bucket is full again. */
  readonly fullInSeconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
  /** The settings it was last used with (a user's may change: the operator's overrides). */
  settings: RateLimitSettings;
}

/** How often forgotten (full) buckets are swept out, at most. */
const SWEEP_EVERY_MS = 60_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep: number;

  constructor(private readonly clock: () => number = () => performance.now()) {
    this.lastSweep = clock();
  }

  /** Takes a token for `userId` if there is one; `settings` must have a rate above 0. */
  take(userId: string, settings: RateLimitSettings): RateDecision {
    const now = this.clock();
    this.sweep(now);
    const { perSecond, burst } = settings;
    const bucket = this.buckets.get(userId) ?? { tokens: burst, at: now, settings };
    bucket.tokens = refilled(bucket, now, settings);
    bucket.at = now;
    bucket.settings = settings;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.buckets.set(userId, bucket);
    return {
      allowed,
      remaining: Math.floor(bucket.tokens),
      retryAfterSeconds: allowed ? 0 : Math.ceil((1 - bucket.tokens) / perSecond),
      fullInSeconds: Math.ceil((burst - bucket.tokens) / perSecond),
    };
  }

  /** The user's whole tokens now, without taking one (for GET /v1/usage). */
  peek(userId: string, settings: RateLimitSettings): number {
    const bucket = this.buckets.get(userId);
    if (!bucket) return settings.burst;
    return Math.floor(refilled(bucket, this.clock(), settings));
  }

  /** Users with a bucket (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    for (const [user, bucket] of this.buckets) {
      if (refilled(bucket, now, bucket.settings) >= bucket.settings.burst) {
        this.buckets.delete(user);
      }
    }
  }
}

function refilled(bucket: Bucket, now: number, settings: RateLimitSettings): number {
  const added = ((now - bucket.at) / 1000) * settings.perSecond;
  return Math.min(settings.burst, bucket.tokens + added);
}

/**
 * The IETF draft's fields (draft-ietf-httpapi-ratelimit-headers): the policy (q requests in a
 * window of w seconds: the burst, and how long it takes to refill) and what is left of it now.
 */
export function setRateLimitHeaders(
  reply: FastifyReply,
  settings: RateLimitSettings,
  decision: RateDecision,
): void {
  const window = Math.max(1, Math.ceil(settings.burst / settings.perSecond));
  reply.header('ratelimit-policy', `"per-user";q=${settings.burst};w=${window}`);
  reply.header('ratelimit', `"per-user";r=${decision.remaining};t=${decision.fullInSeconds}`);
}

export function rateLimited(settings: RateLimitSettings, decision: RateDecision): ApiError {
  const rate = settings.perSecond;
  return new ApiError(
    429,
    'rate_limited',
    `Too many requests: this account may make ${rate} request${rate === 1 ? '' : 's'} a second, in bursts of up to ${settings.burst}. Wait ${decision.retryAfterSeconds} s (the Retry-After header) and send it again; spread out polling loops.`,
    { 'retry-after': String(decision.retryAfterSeconds) },
    { quota: { name: 'requests_per_second', limit: rate, used: null } },
  );
}
