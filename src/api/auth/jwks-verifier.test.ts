import { createPrivateKey, createPublicKey } from 'node:crypto';
import { base64url, exportJWK, exportPKCS8, exportSPKI, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthError,
  AuthUnavailableError,
  authFailureToApiError,
  wwwAuthenticate,
} from './errors.js';
import {
  type JwksServer,
  type SigningPair,
  signingPair,
  startJwksServer,
} from './test-support/jwks-server.js';
import { type AuthVerifier, createAuthVerifier } from './verifier.js';

const ISSUER = 'https://tenant.example-idp.com/';
const AUDIENCE = 'https://api.churnline.example';
const SUB = 'auth0|5f7c8ec7c33c6c004bbafe82';
const now = () => Math.floor(Date.now() / 1000);

let rsa: SigningPair;
let ec: SigningPair;
let intruder: SigningPair;
let server: JwksServer;
let verifier: AuthVerifier;

beforeAll(async () => {
  [rsa, ec, intruder] = await Promise.all([
    signingPair('RS256', 'rsa-1'),
    signingPair('ES256', 'ec-1'),
    signingPair('RS256', 'rsa-1'),
  ]);
  server = await startJwksServer([rsa, ec]);
  verifier = await createAuthVerifier({
    mode: 'jwks',
    jwksUrl: server.url,
    issuer: ISSUER,
    audience: AUDIENCE,
  });
});
afterAll(() => server.close());

function sign(
  pair: SigningPair,
  claims: JWTPayload = {},
  header: { alg?: string; kid?: string } = {},
): Promise<string> {
  return new SignJWT({
    sub: SUB,
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now(),
    exp: now() + 600,
    ...claims,
  })
    .setProtectedHeader({ alg: header.alg ?? pair.alg, kid: header.kid ?? pair.kid, typ: 'JWT' })
    .sign(pair.privateKey);
}

const encodeJson = (value: object) => base64url.encode(JSON.stringify(value));

async function refusal(authorization: string | undefined, using = verifier): Promise<AuthError> {
  const error = await using.verify(authorization).then(
    () => {
      throw new Error('expected the token to be refused');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthError);
  return error as AuthError;
}

describe('JWKS verifier', () => {
  it('accepts RS256 and ES256 tokens from the key set and returns sub as the user id', async () => {
    expect(await verifier.verify(`Bearer ${await sign(rsa)}`)).toEqual({ userId: SUB });
    expect(
      await verifier.verify(
        `bearer ${await sign(ec, { sub: 'user_2NNEqL2nrIRdJ194ndJqAHwEfxC' })}`,
      ),
    ).toEqual({
      userId: 'user_2NNEqL2nrIRdJ194ndJqAHwEfxC',
    });
    expect(await verifier.verify(await sign(rsa))).toEqual({ userId: SUB });
  });

  it('refuses alg "none", with or without a signature part', async () => {
    const unsigned = `${encodeJson({ alg: 'none', typ: 'JWT' })}.${encodeJson({ sub: SUB, iss: ISSUER, aud: AUDIENCE, exp: now() + 600 })}`;
    await refusal(`Bearer ${unsigned}.`);
    const withFakeSignature = await refusal(`Bearer ${unsigned}.${base64url.encode('sig')}`);
    expect(withFakeSignature.message).toMatch(/algorithm/);
  });

  it('refuses HS256 signed with the public key (algorithm confusion)', async () => {
    const pem = await exportSPKI(rsa.publicKey);
    const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
    for (const secret of [Buffer.from(pem), der]) {
      const forged = await new SignJWT({ sub: SUB, iss: ISSUER, aud: AUDIENCE, exp: now() + 600 })
        .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
        .sign(new Uint8Array(secret));
      expect((await refusal(`Bearer ${forged}`)).message).toMatch(/algorithm/);
    }
  });

  it('refuses an algorithm outside the allowed list even from a known key', async () => {
    // The same RSA private key as a KeyObject, which jose lets sign with any RSA algorithm.
    const unbound = createPrivateKey(await exportPKCS8(rsa.privateKey));
    for (const alg of ['RS512', 'PS256']) {
      const token = await new SignJWT({ sub: SUB, iss: ISSUER, aud: AUDIENCE, exp: now() + 600 })
        .setProtectedHeader({ alg, kid: rsa.kid })
        .sign(unbound);
      expect((await refusal(`Bearer ${token}`)).message, alg).toMatch(/algorithm/);
    }
  });

  it('refuses a token signed by a key outside the set, whatever kid it claims', async () => {
    expect((await refusal(`Bearer ${await sign(intruder)}`)).message).toMatch(/signature/);
    const unknownKid = await sign(intruder, {}, { kid: 'not-in-the-set' });
    expect((await refusal(`Bearer ${unknownKid}`)).message).toMatch(
      /key this service does not know/,
    );
    // A key carried in the token's own header is never trusted.
    const selfSigned = await new SignJWT({ sub: SUB, iss: ISSUER, aud: AUDIENCE, exp: now() + 600 })
      .setProtectedHeader({ alg: 'RS256', kid: rsa.kid, jwk: await exportJWK(intruder.publicKey) })
      .sign(intruder.privateKey);
    expect((await refusal(`Bearer ${selfSigned}`)).message).toMatch(/signature/);
    // An ES256 header pointing at the RSA key's kid finds no key of that type.
    await refusal(`Bearer ${await sign(ec, {}, { kid: rsa.kid })}`);
  });

  it.each([
    ['another issuer', { iss: 'https://evil.example/' }, /another issuer/],
    ['the issuer without its trailing slash', { iss: ISSUER.slice(0, -1) }, /another issuer/],
    ['another audience', { aud: 'https://other-api.example' }, /another audience/],
    ['an expired token', { exp: now() - 120 }, /expired/],
    ['a token valid only later', { nbf: now() + 120 }, /not valid yet/],
    ['no sub', { sub: undefined }, /"sub"/],
    ['no exp', { exp: undefined }, /"exp"/],
    ['a sub that is not a user id', { sub: '../../etc' }, /not a valid user id/],
    ['a numeric sub', { sub: 42 as unknown as string }, /malformed|sub/],
  ])('refuses %s', async (_, claims, message) => {
    const error = await refusal(`Bearer ${await sign(rsa, claims as JWTPayload)}`);
    expect(error.message).toMatch(message);
    expect(error.failure).toBe('invalid');
  });

  it('allows the configured clock skew (30 s by default) on exp and nbf', async () => {
    expect(await verifier.verify(`Bearer ${await sign(rsa, { exp: now() - 10 })}`)).toEqual({
      userId: SUB,
    });
    expect(await verifier.verify(`Bearer ${await sign(ec, { nbf: now() + 10 })}`)).toEqual({
      userId: SUB,
    });
    const strict = await createAuthVerifier({
      mode: 'jwks',
      jwksUrl: server.url,
      issuer: ISSUER,
      audience: AUDIENCE,
      clockToleranceSeconds: 0,
    });
    await refusal(`Bearer ${await sign(rsa, { exp: now() - 10 })}`, strict);
  });

  it.each([
    [undefined, 'missing'],
    ['', 'missing'],
    ['Bearer', 'malformed'],
    ['Basic dXNlcjpwYXNz', 'malformed'],
    ['Bearer a.b', 'invalid'],
    ['Bearer a.b.c d', 'malformed'],
    ['Bearer !!.??.**', 'invalid'],
    [`Bearer ${encodeJson({ alg: 'RS256' })}.bm90IGpzb24.c2ln`, 'invalid'],
    [`Bearer e30.${encodeJson({ sub: SUB })}.c2ln`, 'invalid'],
  ] as const)('refuses the malformed header %j', async (header, failure) => {
    expect((await refusal(header)).failure).toBe(failure);
  });

  it('refuses a token over 8 KiB before parsing it or fetching keys', async () => {
    const fresh = await createAuthVerifier({
      mode: 'jwks',
      jwksUrl: server.url,
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    const before = server.requests();
    const big = await sign(rsa, { padding: 'x'.repeat(8 * 1024) });
    expect((await refusal(`Bearer ${big}`, fresh)).message).toMatch(/longer than 8192 bytes/);
    expect(server.requests()).toBe(before);
    expect(await fresh.verify(`Bearer ${await sign(rsa)}`)).toEqual({ userId: SUB });
    expect(server.requests()).toBe(before + 1);
  });

  it('checks azp or client_id instead of aud where the provider puts the audience there', async () => {
    const clerk = await createAuthVerifier({
      mode: 'jwks',
      jwksUrl: server.url,
      issuer: ISSUER,
      audience: ['https://app.churnline.example'],
      audienceClaim: 'azp',
    });
    const token = (azp?: string) => sign(ec, { aud: undefined, azp });
    expect(await clerk.verify(await token('https://app.churnline.example'))).toEqual({
      userId: SUB,
    });
    expect((await refusal(await token('https://evil.example'), clerk)).message).toMatch(/audience/);
    expect((await refusal(await token(undefined), clerk)).message).toMatch(/"azp"/);
  });

  it('answers 503, not 401, when the key set cannot be loaded', async () => {
    const down = await startJwksServer([rsa]);
    down.failWith(500);
    const verifierOfDown = await createAuthVerifier({
      mode: 'jwks',
      jwksUrl: down.url,
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    const failure = await verifierOfDown.verify(await sign(rsa)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(AuthUnavailableError);
    expect(authFailureToApiError(failure)).toMatchObject({ status: 503, code: 'auth_unavailable' });
    await down.close();
    const unreachable = await verifierOfDown.verify(await sign(rsa)).catch((e: unknown) => e);
    expect(unreachable).toBeInstanceOf(AuthUnavailableError);
  });

  it('refuses configurations that would weaken verification', async () => {
    const base = { mode: 'jwks', jwksUrl: server.url, issuer: ISSUER, audience: AUDIENCE } as const;
    await expect(createAuthVerifier({ ...base, algorithms: ['HS256'] })).rejects.toThrow(
      /refused: HS256/,
    );
    await expect(createAuthVerifier({ ...base, algorithms: ['none'] })).rejects.toThrow(
      /refused: none/,
    );
    await expect(createAuthVerifier({ ...base, algorithms: [] })).rejects.toThrow(/empty list/);
    await expect(createAuthVerifier({ ...base, audience: '' })).rejects.toThrow(/non-empty/);
    await expect(createAuthVerifier({ ...base, jwksUrl: 'file:///etc/keys.json' })).rejects.toThrow(
      /http/,
    );
  });

  it('maps an AuthError to a 401 with a Bearer challenge', async () => {
    const error = await refusal(`Bearer ${await sign(rsa, { exp: now() - 120 })}`);
    expect(authFailureToApiError(error)).toMatchObject({
      status: 401,
      code: 'unauthorized',
      message: 'The token has expired.',
      headers: {
        'WWW-Authenticate':
          'Bearer realm="churnline", error="invalid_token", error_description="The token has expired."',
      },
    });
    expect(wwwAuthenticate(await refusal(undefined))).toBe('Bearer realm="churnline"');
    expect(wwwAuthenticate(await refusal('Basic abc'))).toMatch(/error="invalid_request"/);
    expect(authFailureToApiError(new Error('database down'))).toBeUndefined();
  });
});
