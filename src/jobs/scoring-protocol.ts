import type { ScoreSummary } from '../model/score-stream.js';

/** Messages between the job worker and a scoring thread. */
export type ToThread =
  | { type: 'score'; taskId: number; modelId: string; inputKey: string; resultKey: string }
  | { type: 'abort'; taskId: number };

export type FromThread =
  | { type: 'done'; taskId: number; summary: ScoreSummary }
  | { type: 'failed'; taskId: number; error: SerialisedError };

/** What survives the trip across threads of an error: enough to decide permanent or transient. */
export interface SerialisedError {
  name: string;
  message: string;
  code?: string;
  retryable?: boolean;
}

export function serialiseError(error: unknown): SerialisedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { code, retryable } = error as { code?: unknown; retryable?: unknown };
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof retryable === 'boolean' ? { retryable } : {}),
  };
}
