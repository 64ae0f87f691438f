import { QueueError } from './errors.js';

/**
 * SQLSTATE classes and codes after which the same call can succeed: the connection broke (08),
 * the transaction lost a race (40: serialization failure, deadlock), the server is short of
 * resources (53: too many connections) or an operator is restarting or failing it over (57P),
 * a statement timeout or lock timeout (57014, 55P03).
 */
const RETRYABLE_SQLSTATE = /^(08|40|53|57P)|^(57014|55P03)$/;

/** Socket-level failures: the server is down, restarting, or out of reach for now. */
const RETRYABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** node-pg reports some connection failures without any code, only with these messages. */
const RETRYABLE_PG_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|Connection ended/i;

/**
 * Wraps whatever pg threw as a QueueError that says whether to retry, so callers decide on
 * `retryable` and never on the backend. A QueueError passes through unchanged.
 */
export function toQueueError(error: unknown, action: string): QueueError {
  if (error instanceof QueueError) return error;
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  const retryable =
    (code !== undefined && (RETRYABLE_SQLSTATE.test(code) || RETRYABLE_NODE_CODES.has(code))) ||
    (code === undefined && RETRYABLE_PG_MESSAGES.test(message));
  return new QueueError(
    retryable ? 'ServiceUnavailable' : 'InternalError',
    `PostgreSQL queue: ${action} failed${code ? ` (${code})` : ''}: ${message}${retryable ? '. The database is unavailable for now; retry later.' : ''}`,
    retryable,
    { cause: error },
  );
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.length > 0) return code;
  // AggregateError from a connect that tried several addresses (IPv4 and IPv6).
  const first = (error as { errors?: unknown[] }).errors?.[0];
  return first === undefined ? undefined : errorCode(first);
}
