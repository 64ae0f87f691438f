/**
 * How responses with a schema become JSON. A route's zod response schema types what its handler
 * returns at compile time; checking every response against it again at run time (what
 * fastify-type-provider-zod's serializer does) cost more than building the response for a page
 * of rows, and was an eighth of the API's CPU under `npm run bench:load`.
 *
 * So the service writes responses with JSON.stringify, and the checks run where a mistake is
 * found before it ships: with `check` on (under NODE_ENV=test, so in every test that makes a
 * request), each response must pass its schema unchanged. That is stricter than the type
 * provider was: it stripped fields a schema does not declare, so an internal column that leaked
 * into a response vanished quietly; here it fails the test that sent the request.
 */
import { isDeepStrictEqual } from 'node:util';
import type { FastifySerializerCompiler } from 'fastify/types/schema.js';
import type { ZodType } from 'zod';
import { safeEncode } from 'zod';

/** Responses are checked against their schemas in tests, and not in the service. */
export const CHECK_RESPONSES = process.env.NODE_ENV === 'test';

export class ResponseSchemaError extends Error {
  override name = 'ResponseSchemaError';
}

export function responseSerializer(check: boolean): FastifySerializerCompiler<ZodType> {
  if (!check) return () => (data) => JSON.stringify(data);
  return ({ schema, method, url, httpStatus }) =>
    (data) => {
      const json = JSON.stringify(data);
      const where = `the ${httpStatus} response of ${method} ${url}`;
      const encoded = safeEncode(schema, data);
      if (!encoded.success) {
        throw new ResponseSchemaError(
          `${where} does not match its schema: ${encoded.error.message}`,
        );
      }
      // Through JSON first: undefined fields and Date objects are what the client would see.
      const sent: unknown = JSON.parse(json);
      if (!isDeepStrictEqual(sent, encoded.data)) {
        throw new ResponseSchemaError(
          `${where} is not what its schema describes at ${firstDifference(sent, encoded.data) || 'the top'}: a field the schema does not declare, or a value it would change`,
        );
      }
      return json;
    };
}

/** The path of the first place where two JSON values differ ('' when they are the whole). */
function firstDifference(a: unknown, b: unknown, at = ''): string | undefined {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return at;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const inner = firstDifference(
      (a as Record<string, unknown>)[key],
      (b as Record<string, unknown>)[key],
      at === '' ? key : `${at}.${key}`,
    );
    if (inner !== undefined) return inner;
  }
  return at;
}
