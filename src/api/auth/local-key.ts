/**
 * The embedded default's signing key: one Ed25519 key pair per data directory, created on first
 * start, that signs the tokens `churnline token create` prints and verifies them in the API.
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
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly file: string;
}

/** The key file is unusable; the message says how to recover. */
export class LocalKeyError extends Error {
  override name = 'LocalKeyError';
}

export const localKeyFile = (dataDir: string) => path.join(dataDir, 'auth', 'ed25519-private.jwk');

async function readKey(file: string): Promise<LocalSigningKey> {
  const info = await stat(file);
  // Like ssh, refuse a private key that other users can read: it would let them sign tokens.
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    throw new LocalKeyError(
      `The signing key ${file} is readable by other users (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 '${file}'`,
    );
  }
  try {
    const jwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.d || !jwk.x || !jwk.kid) {
      throw new Error('not an Ed25519 private JWK with a kid');
    }
    const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
    return {
      kid: jwk.kid,
      privateKey: (await importJWK(jwk, LOCAL_ALGORITHM)) as CryptoKey,
      publicKey: (await importJWK(publicJwk, LOCAL_ALGORITHM)) as CryptoKey,
      file,
    };
  } catch (error) {
    throw new LocalKeyError(
      `The signing key ${file} is unreadable (${(error as Error).message}). Delete it to create a new one on the next start; tokens signed with the old key stop working.`,
      { cause: error },
    );
  }
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
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(
        `${JSON.stringify({ ...jwk, kid, alg: LOCAL_ALGORITHM, use: 'sig' })}\n`,
      );
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(temp, file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(temp, { force: true });
  }
  return readKey(file);
}

export interface LocalTokenRequest {
  readonly dataDir: string;
  readonly userId: string;
  readonly ttlSeconds: number;
  /** Issue time; defaults to now. */
  readonly now?: Date;
}

/** Signs a token for the local verifier (creating the data directory's key if needed). */
export async function createLocalToken(request: LocalTokenRequest): Promise<string> {
  const { dataDir, userId, ttlSeconds, now = new Date() } = request;
  if (!isUserId(userId)) throw new InvalidIdError(`Not a valid user id: ${JSON.stringify(userId)}`);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_LOCAL_TOKEN_TTL_SECONDS) {
    throw new RangeError(
      `ttlSeconds must be a whole number from 1 to ${MAX_LOCAL_TOKEN_TTL_SECONDS}; got ${ttlSeconds}`,
    );
  }
  const key = await loadOrCreateLocalSigningKey(dataDir);
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
