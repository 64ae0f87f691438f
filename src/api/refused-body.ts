/**
 * A request refused before its body is read (a quota, the rate limit) still has a client writing
 * that body. Closing the connection at once makes many clients (Node's fetch among them) fail
 * with EPIPE before they read the answer. A small body is read and thrown away first, so every
 * client gets the answer; a large one is not worth the bandwidth, and the connection is closed.
 */
import type { Readable } from 'node:stream';

/** Bodies up to this size are read to their end before a refusal is sent. */
export const DRAIN_BEFORE_REFUSING_BYTES = 8 * 1024 * 1024;
/** However slow the client, a refusal waits no longer than this for its body. */
const DRAIN_TIMEOUT_MS = 10_000;

/** Reads `body` to its end when it declares at most the limit; returns once done or timed out. */
export async function drainSmallBody(
  body: Readable,
  declaredLength: number | undefined,
): Promise<void> {
  if (declaredLength === undefined || declaredLength > DRAIN_BEFORE_REFUSING_BYTES) {
    body.resume();
    return;
  }
  if (body.readableEnded) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, DRAIN_TIMEOUT_MS);
    function done() {
      clearTimeout(timer);
      body.off('end', done);
      body.off('error', done);
      body.off('close', done);
      resolve();
    }
    body.on('end', done);
    body.on('error', done);
    body.on('close', done);
    body.resume();
  });
}

/** The request's declared body length, or undefined when it is chunked or malformed. */
export function declaredLength(header: string | undefined): number | undefined {
  if (header === undefined || !/^\d+$/.test(header)) return undefined;
  return Number(header);
}
