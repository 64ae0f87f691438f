import type { CustomTypesConfig } from 'pg';

/** node-pg's type id for int8 (bigint, and what count(*) returns). */
const INT8_OID = 20;

/**
 * node-pg returns int8 as a string because it can exceed 2^53. Every int8 here is a count, a
 * size or an epoch-millisecond time far below that, and the callers promise numbers on every
 * engine, so it is parsed to a number; a value that would lose precision fails loudly instead of
 * being rounded.
 */
export function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(
      `A bigint value ${text} is beyond what a JavaScript number holds exactly (2^53 - 1).`,
    );
  }
  return value;
}

/**
 * Type parsers for one pool or client (its `types` option) that read int8 as a number. Per pool
 * rather than pg.types.setTypeParser, which would change every pg user in the process.
 */
export function int8AsNumber(defaults: CustomTypesConfig): CustomTypesConfig {
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID && format !== 'binary'
        ? parseInt8
        : defaults.getTypeParser(oid, format ?? 'text')) as CustomTypesConfig['getTypeParser'],
  };
}
