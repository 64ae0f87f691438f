/**
 * Properties of the job message: every valid job survives sign -> verify unchanged; any single
 * changed byte of a signed message, and any field outside its pattern (even when properly
 * signed), is refused with a reason and never becomes a job.
 */
import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isUserId, uploadKey } from '../ids.js';
import {
  decodeJobMessage,
  encodeJobMessage,
  InvalidJobMessageError,
  MAX_CLOCK_AHEAD_MS,
  MAX_MESSAGE_AGE_MS,
  type ScoreJob,
} from './message.js';
import { parseSigningKeys } from './signing-keys.js';

const keys = parseSigningKeys(`k1:${randomBytes(32).toString('base64')}`);
const NOW = Date.parse('2026-03-01T12:00:00.000Z');

const uuid = fc.uuid({ version: [1, 2, 3, 4, 5, 6, 7, 8] });
const userId = fc.stringMatching(/^[A-Za-z0-9_|@.:-]{1,128}$/).filter(isUserId);
const modelId = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,63}$/);
const inWindow = fc
  .integer({ min: -MAX_MESSAGE_AGE_MS + 1000, max: MAX_CLOCK_AHEAD_MS - 1000 })
  .map((offset) => new Date(NOW + offset).toISOString());

const job: fc.Arbitrary<ScoreJob> = fc
  .record({ predictionId: uuid, userId, uploadId: uuid, modelId, publishedAt: inWindow })
  .map((fields) => ({ ...fields, objectKey: uploadKey(fields.userId, fields.uploadId) }));

/** Signs the job text exactly as given, so only the check under test can refuse it. */
function signedAnyway(fields: Record<string, unknown>): string {
  const jobJson = JSON.stringify(fields);
  const sig = createHmac('sha256', keys.active.secret)
    .update(`churnline-job-v1.${jobJson}`)
    .digest('base64url');
  return JSON.stringify({ v: 1, kid: keys.active.id, sig, job: jobJson });
}

function refusal(body: string): string {
  try {
    decodeJobMessage(body, keys, NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidJobMessageError);
    return (error as Error).message;
  }
  throw new Error(`accepted: ${body}`);
}

describe('job message properties', () => {
  it('round-trips every valid job through sign and verify', () => {
    fc.assert(
      fc.property(job, (sent) => {
        expect(decodeJobMessage(encodeJobMessage(sent, keys), keys, NOW)).toEqual(sent);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a signed message with any one byte changed', () => {
    fc.assert(
      fc.property(job, fc.nat(), fc.integer({ min: 1, max: 255 }), (sent, at, delta) => {
        const bytes = Buffer.from(encodeJobMessage(sent, keys));
        const index = at % bytes.length;
        bytes[index] = ((bytes[index] as number) + delta) % 256;
        expect(refusal(bytes.toString('utf8'))).toMatch(
          /^message (body is not JSON|envelope is invalid|is signed with unknown key id|signature does not match)/,
        );
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses, even when properly signed, any field outside its pattern', () => {
    const notUuid = fc
      .oneof(
        fc.string({ maxLength: 40 }),
        uuid.map((id) => id.toUpperCase()),
        uuid.map((id) => `${id}/../x`),
      )
      .filter((value) => !/^[0-9a-f-]{36}$/.test(value) || value !== value.toLowerCase());
    const badUser = fc
      .oneof(
        fc.constantFrom('', '.', '..', '../root', 'a/b', 'a b', 'a\0b', 'x'.repeat(129)),
        fc.string({ unit: 'binary', maxLength: 20 }),
      )
      .filter((value) => !isUserId(value));
    const badKey = fc.oneof(
      fc.constantFrom('users/alice/uploads/../../etc/passwd.csv', '/etc/passwd', 'C:\\x.csv'),
      fc.string({ maxLength: 60 }).map((tail) => `users/alice/uploads/${tail}`),
      uuid.map((id) => `users/alice/results/${id}.csv`),
      uuid.map((id) => `users/mallory/uploads/${id}.csv`),
    );
    const outOfWindow = fc.oneof(
      fc.integer({ min: MAX_MESSAGE_AGE_MS + 1000, max: 100 * MAX_MESSAGE_AGE_MS }).map((a) => -a),
      fc.integer({ min: MAX_CLOCK_AHEAD_MS + 1000, max: 100 * MAX_MESSAGE_AGE_MS }),
    );
    const mutation = fc.oneof(
      notUuid.map((v) => ['predictionId', v] as const),
      notUuid.map((v) => ['uploadId', v] as const),
      badUser.map((v) => ['userId', v] as const),
      badKey.map((v) => ['objectKey', v] as const),
      fc
        .string({ maxLength: 70 })
        .filter((v) => !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(v))
        .map((v) => ['modelId', v] as const),
      outOfWindow.map((offset) => ['publishedAt', new Date(NOW + offset).toISOString()] as const),
      fc.string({ maxLength: 30 }).map((v) => ['publishedAt', v] as const),
    );
    fc.assert(
      fc.property(
        job.map((j) => ({ ...j, userId: 'alice', objectKey: uploadKey('alice', j.uploadId) })),
        mutation,
        (sent, [field, value]) => {
          const reason = refusal(signedAnyway({ ...sent, [field]: value }));
          expect(reason).toMatch(
            field === 'publishedAt' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(value)
              ? /(24 h ago \(replay window\)|1 h in the future)$/
              : new RegExp(`^job is invalid: .*(${field}|objectKey)`),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
