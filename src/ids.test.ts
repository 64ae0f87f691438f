import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkKeyPrefixSyntax,
  checkKeySyntax,
  checkObjectKey,
  InvalidIdError,
  isResultObjectKey,
  isUserId,
  isUuid,
  newId,
  partKeys,
  resultKey,
  rowsIndexKey,
  rowsIndexKeyOfResult,
  USER_ID_PATTERN,
  uploadKey,
  userIdFromKeySegment,
  userKeySegment,
  userPrefix,
} from './ids.js';

const ID = '0b6f2a8e-3c1d-4f5a-9b7e-2d4c6e8f0a1b';

describe('user ids', () => {
  it.each([
    ['Auth0', 'auth0|5f7c8ec7c33c6c004bbafe82'],
    ['Auth0 social', 'google-oauth2|108123456789012345678'],
    ['Clerk', 'user_2NNEqL2nrIRdJ194ndJqAHwEfxC'],
    ['Cognito', '3f1c9a52-7c2e-4b8e-9a1d-5e6f7a8b9c0d'],
    ['Google', '108123456789012345678'],
    ['an email-like id', 'jane.doe@example.com'],
    ['a URN-like id', 'urn:user:42'],
  ])('accepts a real %s sub', (_, sub) => {
    expect(isUserId(sub)).toBe(true);
  });

  it.each([
    '',
    'a'.repeat(129),
    'a/b',
    '..',
    'a..b',
    '.',
    'ü',
    'a b',
    'a\0b',
    'a\\b',
    '%41',
    'a~b',
  ])('refuses %j', (sub) => {
    expect(isUserId(sub)).toBe(false);
  });

  it('refuses an id whose key segment would not fit one path segment', () => {
    const mostlyPipes = `a${'|'.repeat(90)}`;
    expect(USER_ID_PATTERN.test(mostlyPipes)).toBe(true);
    expect(isUserId(mostlyPipes)).toBe(false);
    expect(isUserId('a'.repeat(128))).toBe(true);
    expect(isUserId(123)).toBe(false);
  });

  it('maps user ids to key segments reversibly, and every segment is a valid key segment', () => {
    expect(userKeySegment('auth0|5f7c')).toBe('auth0%7C5f7c');
    expect(userKeySegment('urn:user:42')).toBe('urn%3Auser%3A42');
    expect(userKeySegment('user_2NN.x@y-z')).toBe('user_2NN.x@y-z');
    const userIds = fc
      .string({
        unit: fc.constantFrom(...'abcXYZ019_|@.:-'.split('')),
        minLength: 1,
        maxLength: 128,
      })
      .filter((id) => USER_ID_PATTERN.test(id));
    fc.assert(
      fc.property(userIds, (id) => {
        const segment = userKeySegment(id);
        expect(userIdFromKeySegment(segment)).toBe(id);
        if (isUserId(id)) expect(checkKeySyntax(`users/${segment}`)).toEqual({ ok: true });
      }),
    );
  });

  it('decodes only canonical segments', () => {
    expect(userIdFromKeySegment('auth0%7Cabc')).toBe('auth0|abc');
    expect(userIdFromKeySegment('auth0%7cabc')).toBeNull();
    expect(userIdFromKeySegment('%41bc')).toBeNull();
    expect(userIdFromKeySegment('a%2Fb')).toBeNull();
    expect(userIdFromKeySegment('%E0%A4%A')).toBeNull();
  });
});

describe('object keys', () => {
  it('builds upload and result keys and the user prefix from ids only', () => {
    expect(uploadKey('auth0|abc', ID)).toBe(`users/auth0%7Cabc/uploads/${ID}.csv`);
    expect(resultKey('user_2NN', ID)).toBe(`users/user_2NN/results/${ID}.csv`);
    expect(userPrefix('auth0|abc')).toBe('users/auth0%7Cabc/');
    expect(isUuid(newId())).toBe(true);
    expect(newId()).not.toBe(newId());
  });

  it('puts the rows index next to its result, and counts both (not uploads) as results', () => {
    expect(rowsIndexKey('auth0|abc', ID)).toBe(`users/auth0%7Cabc/results/${ID}.rows-index`);
    expect(() => rowsIndexKey('auth0|abc', 'x')).toThrow(InvalidIdError);
    expect(isResultObjectKey(rowsIndexKey('auth0|abc', ID))).toBe(true);
    expect(isResultObjectKey(resultKey('auth0|abc', ID))).toBe(true);
    expect(isResultObjectKey(uploadKey('auth0|abc', ID))).toBe(false);
    expect(isResultObjectKey(`users/auth0%7Cabc/results/${ID}.rows-index.bak`)).toBe(false);
    expect(isResultObjectKey(`users/a/../results/${ID}.csv`)).toBe(false);
    const part = partKeys('auth0|abc', ID, 12);
    expect(part).toEqual({
      results: `users/auth0%7Cabc/parts/${ID}/12.csv`,
      rows: `users/auth0%7Cabc/parts/${ID}/12.rows`,
    });
    expect(isResultObjectKey(part.results) && isResultObjectKey(part.rows)).toBe(true);
    expect(isResultObjectKey(`users/auth0%7Cabc/parts/${ID}/x.csv`)).toBe(false);
    expect(rowsIndexKeyOfResult(resultKey('auth0|abc', ID))).toBe(rowsIndexKey('auth0|abc', ID));
    expect(() => rowsIndexKeyOfResult(uploadKey('auth0|abc', ID))).toThrow(InvalidIdError);
    // A rows index is never an upload a job may name.
    expect(checkObjectKey(rowsIndexKey('auth0|abc', ID)).ok).toBe(false);
  });

  it('refuses to build a key from a bad id', () => {
    expect(() => uploadKey('a/b', ID)).toThrow(InvalidIdError);
    expect(() => uploadKey('auth0|abc', 'file (1).csv')).toThrow(InvalidIdError);
    expect(() => resultKey('auth0|abc', ID.toUpperCase())).toThrow(InvalidIdError);
    expect(() => userPrefix('..')).toThrow(/Not a valid user id/);
  });

  it('checks a key against its shape and its owner', () => {
    expect(checkObjectKey(uploadKey('auth0|abc', ID), 'auth0|abc')).toEqual({
      ok: true,
      userId: 'auth0|abc',
      kind: 'upload',
      id: ID,
    });
    expect(checkObjectKey(resultKey('google|1', ID))).toMatchObject({ ok: true, kind: 'result' });
    expect(checkObjectKey(uploadKey('auth0|abc', ID), 'auth0|abd')).toEqual({
      ok: false,
      reason: "object key is not under the user's prefix",
    });
    // A prefix of the owner's id is another user, not a parent directory.
    expect(checkObjectKey(uploadKey('auth0|abc', ID), 'auth0|ab').ok).toBe(false);
  });

  it.each([
    ['traversal', `users/a/uploads/../../b/uploads/${ID}.csv`],
    ['a user file name', 'users/a/uploads/file (1).csv'],
    ['absolute', `/users/a/uploads/${ID}.csv`],
    ['double slash', `users//a/uploads/${ID}.csv`],
    ['backslash', `users\\a\\uploads\\${ID}.csv`],
    ['NUL', `users/a/uploads/${ID}.csv\0`],
    ['another folder', `users/a/models/${ID}.csv`],
    ['an extra level', `users/a/uploads/x/${ID}.csv`],
    ['an upper-case UUID', `users/a/uploads/${ID.toUpperCase()}.csv`],
    ['another extension', `users/a/uploads/${ID}.json`],
    ['a lower-case escape', `users/auth0%7cabc/uploads/${ID}.csv`],
    ['a needless escape', `users/%61/uploads/${ID}.csv`],
    ['an encoded slash', `users/a%2Fb/uploads/${ID}.csv`],
    ['a raw pipe', `users/auth0|abc/uploads/${ID}.csv`],
    ['a non-string', 42],
    ['an empty key', ''],
  ])('refuses %s', (_, key) => {
    const check = checkObjectKey(key);
    expect(check.ok).toBe(false);
    expect(check.ok ? '' : check.reason).toMatch(/object key/);
  });

  it('checks prefixes as whole segments ending in a slash', () => {
    expect(checkKeyPrefixSyntax('users/auth0%7Cabc/')).toEqual({ ok: true });
    expect(checkKeyPrefixSyntax('users/auth0%7Cabc').ok).toBe(false);
    expect(checkKeyPrefixSyntax('/').ok).toBe(false);
    expect(checkKeyPrefixSyntax('users/../').ok).toBe(false);
  });
});
