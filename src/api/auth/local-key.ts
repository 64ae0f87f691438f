/**
 * The embedded default's signing key: one Ed25519 key pair per data directory, created on first
 * start, that signs the tokens `churnline token create` prints and verifies them in the API.
 *
 * Several machines share one pair through AUTH_KEY_FILE instead: `churnline token keygen` writes
 * the private key (kept where tokens are made) and its public half (copied to every API), and
 * the file AUTH_KEY_FILE names is never created, only read.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
} from 'jose';
import { InvalidIdError, isUserId } from '../../ids.js';

export const LOCAL_ISSUER = 'churnline-local';
export const LOCAL_AUDIENCE = 'churnline';
/** The fully specified JWS name for EdDSA over Ed25519 (RFC 9864). */
export const LOCAL_ALGORITHM = 'Ed25519';
/** Longest lifetime createLocalToken grants: a year. */
export const MAX_LOCAL_TOKEN_TTL_SECONDS = 365 * 24 * 3600;

export interface LocalSigningKey {
  readonly kid: string;
  /** Absent when the file holds only the public key (an API that verifies but never signs). */
  readonly privateKey: CryptoKey | undefined;
  readonly publicKey: CryptoKey;
  readonly file: string;
}

/** Where the key comes from: AUTH_KEY_FILE when set, else the data directory's own key. */
export interface LocalKeySource {
  readonly dataDir: string;
  /** A key file made by `churnline token keygen`; read only, never created. */
  readonly keyFile?: string | undefined;
}

/** The key file is unusable; the message says how to recover. */
export class LocalKeyError extends Error {
  override name = 'LocalKeyError';
}

export const localKeyFile = (dataDir: string) => path.join(dataDir, 'auth', 'ed25519-private.jwk');

async function readKey(file: string): Promise<LocalSigningKey> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw error;
    throw unreadable(file, error as Error);
  }
  // Like ssh, refuse a private key that other users can read: it would let them sign tokens.
  const info = await stat(file);
  if (jwk.d !== undefined && process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    throw new LocalKeyError(
      `The signing key ${file} is readable by other users (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 '${file}'`,
    );
  }
  try {
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.x) {
      throw new Error('not an Ed25519 JWK');
    }
    const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
    return {
      kid: jwk.kid ?? (await calculateJwkThumbprint(publicJwk)),
      privateKey: jwk.d ? ((await importJWK(jwk, LOCAL_ALGORITHM)) as CryptoKey) : undefined,
      publicKey: (await importJWK(publicJwk, LOCAL_ALGORITHM)) as CryptoKey,
      file,
    };
  } catch (error) {
    throw unreadable(file, error as Error);
  }
}

function unreadable(file: string, error: Error): LocalKeyError {
  return new LocalKeyError(
    `The signing key ${file} is unreadable (${error.message}). Delete it to create a new one on the next start; tokens signed with the old key stop working.`,
    { cause: error },
  );
}

/** The key AUTH_KEY_FILE names, or the data directory's (created if missing). */
export async function loadLocalKey(source: LocalKeySource): Promise<LocalSigningKey> {
  if (source.keyFile === undefined) return loadOrCreateLocalSigningKey(source.dataDir);
  try {
    return await readKey(source.keyFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new LocalKeyError(
      `AUTH_KEY_FILE names ${source.keyFile}, which does not exist: create a key pair with \`churnline token keygen <private.jwk>\` and point AUTH_KEY_FILE at one of its two files.`,
    );
  }
}

/** Writes `data` to a new file, refusing to replace one, synced before it is closed. */
async function writeNewFile(file: string, data: string, mode: number): Promise<void> {
  const handle = await open(file, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * `churnline token keygen`: a new Ed25519 pair shared by several machines. The private key goes
 * to `privateFile` (0600, where tokens are made), its public half to `publicFile` (for every API).
 * Neither file may exist: replacing a key would silently invalidate every token signed with it.
 */
export async function writeLocalKeyPair(
  privateFile: string,
  publicFile: string,
): Promise<{ kid: string }> {
  if (path.resolve(privateFile) === path.resolve(publicFile)) {
    throw new LocalKeyError('The private and the public key need two different files.');
  }
  const { privateKey } = await generateKeyPair(LOCAL_ALGORITHM, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x });
  const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid, alg: LOCAL_ALGORITHM, use: 'sig' };
  const refuse = (file: string) => (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
    throw new LocalKeyError(
      `${file} exists already; choose another name, or delete it first (tokens signed with that key then stop working).`,
    );
  };
  await writeNewFile(privateFile, `${JSON.stringify({ ...publicJwk, d: jwk.d })}\n`, 0o600).catch(
    refuse(privateFile),
  );
  try {
    await writeNewFile(publicFile, `${JSON.stringify(publicJwk)}\n`, 0o644);
  } catch (error) {
    await rm(privateFile, { force: true });
    refuse(publicFile)(error as NodeJS.ErrnoException);
  }
  return { kid };
}

/**
 * Loads the data directory's signing key, creating it if there is none. Creation is atomic and
 * race-free across processes: the key is written whole to a private temporary file, then
 * hard-linked to its name, which fails if another process got there first; everyone then uses
 * the key that won, so two processes starting at once end with the same key.
 */
export async function loadOrCreateLocalSigningKey(dataDir: string): Promise<LocalSigningKey> {
  const file = localKeyFile(dataDir);
  try {
    return await readKey(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = await generateKeyPair(LOCAL_ALGORITHM, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x });
  const temp = `${file}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeNewFile(
      temp,
      `${JSON.stringify({ ...jwk, kid, alg: LOCAL_ALGORITHM, use: 'sig' })}\n`,
      0o600,
    );
    await link(temp, file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(temp, { force: true });
  }
  return readKey(file);
}

export interface LocalTokenRequest extends LocalKeySource {
  readonly userId: string;
  readonly ttlSeconds: number;
  /** Issue time; defaults to now. */
  readonly now?: Date;
}

/** Signs a token for the local verifier (creating the data directory's key if it is the one used). */
export async function createLocalToken(request: LocalTokenRequest): Promise<string> {
  const { userId, ttlSeconds, now = new Date() } = request;
  if (!isUserId(userId)) throw new InvalidIdError(`Not a valid user id: ${JSON.stringify(userId)}`);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_LOCAL_TOKEN_TTL_SECONDS) {
    throw new RangeError(
      `ttlSeconds must be a whole number from 1 to ${MAX_LOCAL_TOKEN_TTL_SECONDS}; got ${ttlSeconds}`,
    );
  }
  const key = await loadLocalKey(request);
  if (!key.privateKey) {
    throw new LocalKeyError(
      `${key.file} holds only the public key, which verifies tokens but cannot sign them: create tokens where the private key is (churnline token create --key <private.jwk>).`,
    );
  }
  const issuedAt = Math.floor(now.getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: LOCAL_ALGORITHM, kid: key.kid, typ: 'JWT' })
    .setSubject(userId)
    .setIssuer(LOCAL_ISSUER)
    .setAudience(LOCAL_AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ttlSeconds)
    .setJti(randomUUID())
    .sign(key.privateKey);
}
