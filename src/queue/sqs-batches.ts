/**
 * The shape shared by the three SQS batch calls: entries our shared validation refuses fail
 * locally (as they do on SQLite), the rest go in one request, and both kinds of failure come
 * back together in the order of the caller's entries.
 */
import type { BatchEntryFailure, BatchResult } from './port.js';
import { batchEntryFailure, localEntryFailure } from './sqs-errors.js';

type SqsEntryFailure = Parameters<typeof batchEntryFailure>[0];

export interface BatchOutcome<T, S> {
  readonly successful: ReadonlyArray<{ readonly entry: T; readonly result: S }>;
  readonly failed: BatchEntryFailure[];
}

/** `check` throws for an entry that must not be sent, or returns what the request needs of it. */
export async function runBatch<T extends { id: string }, C, S extends { Id?: string | undefined }>(
  entries: readonly T[],
  check: (entry: T) => C,
  request: (valid: Array<{ entry: T; checked: C }>) => Promise<{
    Successful?: S[] | undefined;
    Failed?: SqsEntryFailure[] | undefined;
  }>,
): Promise<BatchOutcome<T, S>> {
  const failed: BatchEntryFailure[] = [];
  const valid: Array<{ entry: T; checked: C }> = [];
  for (const entry of entries) {
    try {
      valid.push({ entry, checked: check(entry) });
    } catch (error) {
      failed.push(localEntryFailure(entry.id, error));
    }
  }
  const results = new Map<string, S>();
  if (valid.length > 0) {
    const output = await request(valid);
    for (const ok of output.Successful ?? []) if (ok.Id) results.set(ok.Id, ok);
    failed.push(...(output.Failed ?? []).map(batchEntryFailure));
  }
  const position = new Map(entries.map((entry, index) => [entry.id, index]));
  return {
    successful: entries.flatMap((entry) => {
      const result = results.get(entry.id);
      return result ? [{ entry, result }] : [];
    }),
    failed: failed.sort((a, b) => (position.get(a.id) ?? 0) - (position.get(b.id) ?? 0)),
  };
}

/** The port's result of a batch whose successes carry nothing but their id. */
export function idsOnly(outcome: BatchOutcome<{ id: string }, unknown>): BatchResult {
  return {
    successful: outcome.successful.map(({ entry }) => ({ id: entry.id })),
    failed: outcome.failed,
  };
}
