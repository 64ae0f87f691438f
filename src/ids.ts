/**
 * Identifiers and the object keys built from them. Keys are only ever built here, from a user id
 * (the verified JWT `sub`) and server-generated UUIDs, never from a name the user supplied; the
 * job message schema and the blob store check keys with the same rules.
 */
import { randomUUID } from 'node:crypto';

/**
 * A user id is the JWT `sub`: 1-128 characters of letters, digits and `_ | @ . : -`, not `.` alone
 * and without `..`. This admits the subs of Auth0 (`auth0|5f7c…`), Clerk (`user_2NN…`), Cognito
 * (UUIDs) and Google (numeric), and nothing that could act as a path.
 */
export const USER_ID_PATTERN = /^(?!\.$)(?!.*\.\.)[A-Za-z0-9_|@.:-]{1,128}$/;

/** Lower-case canonical UUID, as produced by newId(). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Longest path segment that every supported file system accepts (ext4, XFS, APFS: 255 bytes). */
const MAX_SEGMENT_BYTES = 255;
/** Longest object key S3 accepts. */
const MAX_KEY_BYTES = 1024;

/** Thrown by the key builders for an id that must never reach them (a programming error). */
export class InvalidIdError extends Error {
  override name = 'InvalidIdError';
}

/** A new resource id (upload, prediction): a random UUID v4. */
export function newId(): string {
  return randomUUID();
}

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

/**
 * True for a user id that matches USER_ID_PATTERN and whose key segment fits one path segment.
 * The second rule only excludes ids made mostly of `|` and `:` (each takes three bytes encoded).
 */
export function isUserId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    USER_ID_PATTERN.test(value) &&
    userKeySegment(value).length <= MAX_SEGMENT_BYTES
  );
}

/**
 * Maps a user id to one key segment: characters outside `[A-Za-z0-9_.@-]` (that is `|` and `:`)
 * become `%XX` with upper-case hex. `%` is not a user id character, so the mapping is reversible
 * and two ids never share a segment. `auth0|abc` becomes `auth0%7Cabc`.
 */
export function userKeySegment(userId: string): string {
  return userId.replace(
    /[^A-Za-z0-9_.@-]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/** The user id a key segment stands for, or null when the segment is not a canonical encoding. */
export function userIdFromKeySegment(segment: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    return null;
  }
  // Canonical only: `%41` for `A` would otherwise be a second spelling of the same user.
  if (!USER_ID_PATTERN.test(decoded) || userKeySegment(decoded) !== segment) return null;
  return decoded;
}

function requireUserId(userId: string): string {
  if (!isUserId(userId)) throw new InvalidIdError(`Not a valid user id: ${JSON.stringify(userId)}`);
  return userKeySegment(userId);
}

function requireUuid(id: string, what: string): string {
  if (!isUuid(id)) throw new InvalidIdError(`Not a valid ${what} (UUID): ${JSON.stringify(id)}`);
  return id;
}

/** `users/<uid>/`: everything stored for one user lives under it. */
export function userPrefix(userId: string): string {
  return `users/${requireUserId(userId)}/`;
}

/** `users/<uid>/uploads/<uploadId>.csv` */
export function uploadKey(userId: string, uploadId: string): string {
  return `${userPrefix(userId)}uploads/${requireUuid(uploadId, 'upload id')}.csv`;
}

/** `users/<uid>/results/<predictionId>.csv` */
export function resultKey(userId: string, predictionId: string): string {
  return `${userPrefix(userId)}results/${requireUuid(predictionId, 'prediction id')}.csv`;
}

/**
 * `users/<uid>/results/<predictionId>.rows-index`: the rows index of that result (see
 * src/results/rows-index.ts), next to it so that everything of one result shares its prefix.
 */
export function rowsIndexKey(userId: string, predictionId: string): string {
  return `${userPrefix(userId)}results/${requireUuid(predictionId, 'prediction id')}.rows-index`;
}

/** Every object a prediction's results consist of: the results CSV and its rows index. */
/** Where the parts of a prediction scored in chunks wait to be assembled (src/jobs/chunks.ts). */
export function partsPrefix(userId: string, predictionId: string): string {
  return `${userPrefix(userId)}parts/${requireUuid(predictionId, 'prediction id')}/`;
}

/** One chunk's results rows and rows facts (RowsIndexBuilder.encodePart). */
export function partKeys(
  userId: string,
  predictionId: string,
  chunk: number,
): { results: string; rows: string } {
  const prefix = partsPrefix(userId, predictionId);
  return { results: `${prefix}${chunk}.csv`, rows: `${prefix}${chunk}.rows` };
}

export function resultObjectKeys(userId: string, predictionId: string): [string, string] {
  return [resultKey(userId, predictionId), rowsIndexKey(userId, predictionId)];
}

/**
 * `users/<uid>/models/<modelId>.json`: a model the user trained. Written whole by the training job
 * before the model is marked ready, so a ready model always has its file.
 */
export function modelKey(userId: string, modelId: string): string {
  return `${userPrefix(userId)}models/${requireUuid(modelId, 'model id')}.json`;
}

/** The rows index key that belongs to a key built by resultKey. */
export function rowsIndexKeyOfResult(key: string): string {
  const check = checkObjectKey(key);
  if (!check.ok || check.kind !== 'result') {
    throw new InvalidIdError(`Not a result key: ${JSON.stringify(key)}`);
  }
  return rowsIndexKey(check.userId, check.id);
}

/**
 * True for a key built by resultKey, rowsIndexKey or partKeys: objects the results' expiry
 * applies to (a part outlives its prediction only when whatever should remove it died).
 */
export function isResultObjectKey(key: string): boolean {
  if (!checkKeySyntax(key).ok) return false;
  const match =
    /^users\/([^/]+)\/results\/([^/]+)\.(?:csv|rows-index)$/.exec(key) ??
    /^users\/([^/]+)\/parts\/([^/]+)\/\d+\.(?:csv|rows)$/.exec(key);
  return match !== null && userIdFromKeySegment(match[1] ?? '') !== null && isUuid(match[2]);
}

export type ObjectKind = 'upload' | 'result';

export type ObjectKeyCheck =
  | { readonly ok: true; readonly userId: string; readonly kind: ObjectKind; readonly id: string }
  | { readonly ok: false; readonly reason: string };

const OBJECT_KEY_SHAPE = /^users\/([^/]+)\/(uploads|results)\/([^/]+)\.csv$/;

/**
 * Accepts only a key built by uploadKey or resultKey, and, when `userId` is given, only under that
 * user's prefix. The reason on refusal is safe to log and to record on a dead letter.
 */
export function checkObjectKey(key: unknown, userId?: string): ObjectKeyCheck {
  const syntax = checkKeySyntax(key);
  if (!syntax.ok) return syntax;
  const match = OBJECT_KEY_SHAPE.exec(key as string);
  if (!match) {
    return {
      ok: false,
      reason:
        'object key is not users/<user>/uploads/<uuid>.csv or users/<user>/results/<uuid>.csv',
    };
  }
  const [, segment = '', folder, id = ''] = match;
  const owner = userIdFromKeySegment(segment);
  if (owner === null || !isUserId(owner)) {
    return { ok: false, reason: 'object key does not name a valid user' };
  }
  if (!isUuid(id)) return { ok: false, reason: 'object key does not end in a lower-case UUID' };
  if (userId !== undefined && owner !== userId) {
    return { ok: false, reason: "object key is not under the user's prefix" };
  }
  return { ok: true, userId: owner, kind: folder === 'uploads' ? 'upload' : 'result', id };
}

export type KeySyntaxCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: string };

/** One key segment: safe characters and canonical `%XX` escapes only. */
const SEGMENT = /^(?:[A-Za-z0-9_.@-]|%[0-9A-F]{2})+$/;

/**
 * The syntax every stored key follows, whatever it names: `/`-separated segments of
 * `[A-Za-z0-9_.@-]` and `%XX`, none empty, none `.` and no `..` anywhere, so a key maps to the
 * same relative path on every backend and never leaves the store's root. Backslashes, NUL,
 * spaces, leading or doubled slashes and anything non-ASCII are refused.
 */
export function checkKeySyntax(key: unknown): KeySyntaxCheck {
  if (typeof key !== 'string' || key.length === 0) {
    return { ok: false, reason: 'object key is empty' };
  }
  if (key.length > MAX_KEY_BYTES) {
    return { ok: false, reason: `object key is longer than ${MAX_KEY_BYTES} bytes` };
  }
  if (key.includes('..')) return { ok: false, reason: 'object key contains ".."' };
  for (const segment of key.split('/')) {
    if (segment === '') {
      return { ok: false, reason: 'object key has an empty segment (leading, trailing or "//")' };
    }
    if (segment === '.') return { ok: false, reason: 'object key has a "." segment' };
    if (!SEGMENT.test(segment)) {
      return {
        ok: false,
        reason: 'object key has a character outside A-Z a-z 0-9 _ . @ - and %XX escapes',
      };
    }
    if (segment.length > MAX_SEGMENT_BYTES) {
      return {
        ok: false,
        reason: `object key has a segment longer than ${MAX_SEGMENT_BYTES} bytes`,
      };
    }
  }
  return { ok: true };
}

/**
 * A key prefix as list and deletePrefix take it: whole segments ending in `/`
 * (`users/auth0%7Cabc/`), so that a prefix never matches part of another user's segment.
 */
export function checkKeyPrefixSyntax(prefix: unknown): KeySyntaxCheck {
  if (typeof prefix !== 'string' || !prefix.endsWith('/')) {
    return { ok: false, reason: 'key prefix must end with "/"' };
  }
  return checkKeySyntax(prefix.slice(0, -1));
}
