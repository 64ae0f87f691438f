import { createHmac, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SigningKey, SigningKeyring } from './message.js';

/**
 * Parses JOB_SIGNING_KEYS: "kid:base64secret[,kid:base64secret...]"; the first key signs.
 * Secrets must be at least 32 bytes so HMAC-SHA256 keeps its full strength.
 */
export function parseSigningKeys(value: string): SigningKeyring {
  const keys = value.split(',').map((entry, index) => {
    const [id, secret, extra] = entry.trim().split(':');
    const bytes = Buffer.from(secret ?? '', 'base64');
    if (!id || !/^[A-Za-z0-9_-]{1,32}$/.test(id) || extra !== undefined || bytes.length < 32) {
      throw new Error(
        `JOB_SIGNING_KEYS entry ${index + 1} is invalid: use "keyid:base64secret" with a key id of 1-32 letters, digits, "_" or "-" and a secret of at least 32 random bytes (e.g. openssl rand -base64 32).`,
      );
    }
    return { id, secret: bytes } satisfies SigningKey;
  });
  return keyring(keys);
}

function keyring(keys: SigningKey[]): SigningKeyring {
  const [active] = keys;
  if (!active) throw new Error('JOB_SIGNING_KEYS is empty.');
  return { active, all: new Map(keys.map((key) => [key.id, key])) };
}

/**
 * The embedded default: one key in the data directory, created on first start. Created through
 * a hard link so two processes starting at once end up with the same key, never two.
 */
export function loadOrCreateLocalSigningKeys(dataDir: string): SigningKeyring {
  const file = path.join(dataDir, 'job-signing-key');
  try {
    return parseSigningKeys(readFileSync(file, 'utf8').trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dataDir, { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temp, `local1:${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  try {
    linkSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temp);
  }
  return parseSigningKeys(readFileSync(file, 'utf8').trim());
}

/**
 * A short fingerprint of a key's secret, safe to publish (32 bits of an HMAC of a fixed text
 * under the secret reveal nothing usable about it): two processes that name the same key id
 * with different secrets show different fingerprints.
 */
export function signingKeyFingerprint(key: SigningKey): string {
  return createHmac('sha256', key.secret)
    .update('churnline-signing-key-fingerprint')
    .digest('hex')
    .slice(0, 8);
}

/** What a process publishes about its keys (health, metrics, the start-up line): never a secret. */
export interface SigningKeysSummary {
  /** The key id new jobs are signed with. */
  readonly signsWith: string;
  readonly fingerprint: string;
  /** Every key id this process accepts, the signing one first. */
  readonly verifies: readonly string[];
}

export function summariseSigningKeys(keys: SigningKeyring): SigningKeysSummary {
  return {
    signsWith: keys.active.id,
    fingerprint: signingKeyFingerprint(keys.active),
    verifies: [...keys.all.keys()],
  };
}
