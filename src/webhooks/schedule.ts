/**
 * When a failed delivery is tried again: the schedule Standard Webhooks senders commonly use
 * (Svix's), immediately then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h: about 28 hours,
 * so a receiver down for a night still gets every event, each with its first `webhook-id`.
 */
export const RETRY_DELAYS_MS: readonly number[] = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3600_000,
  5 * 3600_000,
  10 * 3600_000,
  10 * 3600_000,
];

/** Attempts in all: the first and one per delay. */
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;

/** When the attempt after failed attempt `attempt` (1-based) is due; null when none is left. */
export function nextAttemptAt(attempt: number, now = Date.now()): string | null {
  const delay = RETRY_DELAYS_MS[attempt - 1];
  return delay === undefined ? null : new Date(now + delay).toISOString();
}
