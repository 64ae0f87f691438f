/**
 * Headers every answer carries, and download names as RFC 6266 and RFC 8187 want them.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';

/** The headers every answer carries (see addSecurityHeaders); for answers sent before hooks run. */
export function setSecurityHeaders(reply: FastifyReply): void {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('x-frame-options', 'DENY');
}

/**
 * Every response: never sniffed into another type, never framed by another site. An answer to an
 * authenticated request (any /v1 resource: a user's data) is never stored by a cache, unless the
 * route chose its own caching.
 */
export function addSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    setSecurityHeaders(reply);
    if (request.headers.authorization !== undefined && !reply.hasHeader('cache-control')) {
      reply.header('cache-control', 'no-store');
    }
    return payload;
  });
}

/** RFC 8187 attr-char: what a value may hold without percent-encoding. */
const ATTR_CHAR = /[A-Za-z0-9!#$&+\-.^_`|~]/;

/** `value` as an RFC 8187 ext-value in UTF-8. */
function extValue(value: string): string {
  let encoded = "UTF-8''";
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte);
    encoded +=
      byte < 0x80 && ATTR_CHAR.test(char)
        ? char
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/**
 * `Content-Disposition: attachment` for a file named `name`: a plain ASCII fallback (quotes,
 * backslashes, controls and non-ASCII replaced) for old clients, and the exact UTF-8 name in
 * `filename*` (RFC 6266 section 4.3).
 */
export function attachment(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return `attachment; filename="${fallback}"; filename*=${extValue(name)}`;
}
