import { spawn } from 'node:child_process';
import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidIdError } from '../../ids.js';
import { AuthError } from './errors.js';
import {
  createLocalToken,
  LocalKeyError,
  loadOrCreateLocalSigningKey,
  localKeyFile,
} from './local-key.js';
import { signingPair } from './test-support/jwks-server.js';
import { createAuthVerifier } from './verifier.js';

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'churnline-auth-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const USER = 'auth0|5f7c8ec7c33c6c004bbafe82';
const childScript = fileURLToPath(new URL('./test-support/local-key-child.ts', import.meta.url));

function runChild(dir: string, startAt: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', childScript, dir, String(startAt)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`child exited ${code}`)),
    );
  });
}

async function refusal(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the token to be refused');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthError);
  return error as AuthError;
}

describe('local verifier', () => {
  it('creates a private key file on first start and verifies the tokens it signs', async () => {
    const dir = dataDir();
    const verifier = await createAuthVerifier({ mode: 'local', dataDir: dir });
    const file = localKeyFile(dir);
    expect(file).toBe(path.join(dir, 'auth', 'ed25519-private.jwk'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      kty: 'OKP',
      crv: 'Ed25519',
      alg: 'Ed25519',
    });

    const token = await createLocalToken({ dataDir: dir, userId: USER, ttlSeconds: 3600 });
    expect(await verifier.verify(`Bearer ${token}`)).toEqual({ userId: USER });
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'Ed25519', typ: 'JWT' });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ sub: USER, iss: 'churnline-local', aud: 'churnline' });
    expect(claims.exp! - claims.iat!).toBe(3600);
  });

  it('refuses a token once it expires, even though it verified a moment before', async () => {
    const dir = dataDir();
    const verifier = await createAuthVerifier({
      mode: 'local',
      dataDir: dir,
      clockToleranceSeconds: 0,
    });
    const token = await createLocalToken({ dataDir: dir, userId: USER, ttlSeconds: 1 });
    expect(await verifier.verify(token)).toEqual({ userId: USER });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await expect(verifier.verify(token)).rejects.toThrow('The token has expired.');
  });

  it('reuses the same key across restarts, so earlier tokens stay valid', async () => {
    const dir = dataDir();
    const token = await createLocalToken({ dataDir: dir, userId: USER, ttlSeconds: 600 });
    const keyBefore = readFileSync(localKeyFile(dir), 'utf8');
    const restarted = await createAuthVerifier({ mode: 'local', dataDir: dir });
    expect(await restarted.verify(token)).toEqual({ userId: USER });
    expect(readFileSync(localKeyFile(dir), 'utf8')).toBe(keyBefore);
  });

  it('ends with one key when several starts race, in one process and across processes', async () => {
    const dir = dataDir();
    const keys = await Promise.all(
      Array.from({ length: 8 }, () => loadOrCreateLocalSigningKey(dir)),
    );
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);

    const shared = dataDir();
    const startAt = Date.now() + 1500;
    const kids = await Promise.all(Array.from({ length: 4 }, () => runChild(shared, startAt)));
    expect(kids.every((kid) => kid.length > 20)).toBe(true);
    expect(new Set(kids).size).toBe(1);
    expect((await loadOrCreateLocalSigningKey(shared)).kid).toBe(kids[0]);
    // No temporary file of a losing process is left beside the key.
    expect(readdirSync(path.join(shared, 'auth'))).toEqual(['ed25519-private.jwk']);
  });

  it("refuses another data directory's tokens, foreign algorithms and expired tokens", async () => {
    const dir = dataDir();
    const verifier = await createAuthVerifier({ mode: 'local', dataDir: dir });
    const foreign = await createLocalToken({ dataDir: dataDir(), userId: USER, ttlSeconds: 600 });
    expect((await refusal(verifier.verify(foreign))).message).toMatch(/signature/);

    const rsa = await signingPair('RS256', 'x');
    const rs256 = await new SignJWT({ sub: USER })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer('churnline-local')
      .setAudience('churnline')
      .setExpirationTime('10m')
      .sign(rsa.privateKey);
    expect((await refusal(verifier.verify(rs256))).message).toMatch(/algorithm/);

    const expired = await createLocalToken({
      dataDir: dir,
      userId: USER,
      ttlSeconds: 60,
      now: new Date(Date.now() - 10 * 60_000),
    });
    expect((await refusal(verifier.verify(expired))).message).toBe('The token has expired.');
  });

  it('refuses a local token where an identity provider is configured', async () => {
    const dir = dataDir();
    const token = await createLocalToken({ dataDir: dir, userId: USER, ttlSeconds: 600 });
    const jwks = await createAuthVerifier({
      mode: 'jwks',
      jwksUrl: 'http://127.0.0.1:9/jwks.json',
      issuer: 'churnline-local',
      audience: 'churnline',
    });
    expect((await refusal(jwks.verify(token))).message).toMatch(/algorithm/);
  });

  it('refuses to sign for a bad user id or lifetime', async () => {
    const dir = dataDir();
    await expect(createLocalToken({ dataDir: dir, userId: 'a/b', ttlSeconds: 60 })).rejects.toThrow(
      InvalidIdError,
    );
    await expect(createLocalToken({ dataDir: dir, userId: USER, ttlSeconds: 0 })).rejects.toThrow(
      RangeError,
    );
    await expect(
      createLocalToken({ dataDir: dir, userId: USER, ttlSeconds: 400 * 86_400 }),
    ).rejects.toThrow(RangeError);
  });

  it('stops with a clear message on a corrupt or world-readable key file', async () => {
    const dir = dataDir();
    await loadOrCreateLocalSigningKey(dir);
    const file = localKeyFile(dir);
    chmodSync(file, 0o644);
    await expect(loadOrCreateLocalSigningKey(dir)).rejects.toThrow(
      /readable by other users.*chmod 600/,
    );
    writeFileSync(file, '{"kty":"OKP"', { mode: 0o600 });
    chmodSync(file, 0o600);
    const error = await loadOrCreateLocalSigningKey(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalKeyError);
    expect((error as Error).message).toMatch(/unreadable.*Delete it/);
    // The broken key is left for the operator to inspect, never silently replaced.
    expect(readFileSync(file, 'utf8')).toBe('{"kty":"OKP"');
  });
});
