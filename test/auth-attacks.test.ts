import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LOCAL_AUDIENCE,
  LOCAL_ISSUER,
  loadOrCreateLocalSigningKey,
} from '../src/api/auth/local-key.js';
import {
  authorised,
  type RunningService,
  startService,
  submitCsv,
  upload,
  waitForStatus,
} from './support/service.js';
import { storedState } from './support/stored-state.js';
import { telcoText as telco } from './support/telco.js';

const [header = '', ...rows] = telco.trimEnd().split('\n');
const sample = `${header}\n${rows.slice(0, 20).join('\n')}\n`;

let service: RunningService;

beforeAll(async () => {
  service = await startService();
});
afterAll(async () => {
  await service.stop();
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: JWTPayload = {}): JWTPayload => ({
  sub: 'alice',
  iss: LOCAL_ISSUER,
  aud: LOCAL_AUDIENCE,
  iat: now(),
  exp: now() + 3600,
  ...extra,
});

/** A token signed with the service's own key, with the claims given (undefined drops one). */
async function signed(payload: JWTPayload): Promise<string> {
  const key = await loadOrCreateLocalSigningKey(service.dataDir);
  const body = Object.fromEntries(Object.entries(payload).filter(([, v]) => v !== undefined));
  return new SignJWT(body)
    .setProtectedHeader({ alg: 'Ed25519', kid: key.kid, typ: 'JWT' })
    .sign(key.privateKey!);
}

async function get(path: string, token: string | undefined) {
  const response = await fetch(
    `${service.url}${path}`,
    token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
  );
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}

describe('token attacks', () => {
  it('answers each forged, stale or misdirected token with 401 and what is wrong with it', async () => {
    const key = await loadOrCreateLocalSigningKey(service.dataDir);
    const publicJwk = await exportJWK(key.publicKey);
    const publicBytes = Buffer.from(publicJwk.x as string, 'base64url');
    const hmacWithPublicKey = async (secret: Uint8Array) =>
      new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(secret);
    const stranger = await generateKeyPair('Ed25519');
    const strangerToken = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'Ed25519', kid: 'someone-elses-key' })
      .sign(stranger.privateKey);
    const valid = await signed(claims());
    const [validHeader, validPayload, validSignature] = valid.split('.');

    const cases: Array<[string, string, RegExp]> = [
      [
        'alg none',
        `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`,
        /^The token is not a signed JWT/,
      ],
      [
        'alg none with a signature',
        `${b64({ alg: 'none' })}.${b64(claims())}.AAAA`,
        /algorithm this service does not accept/,
      ],
      [
        'HS256 keyed with the public key bytes',
        await hmacWithPublicKey(publicBytes),
        /algorithm this service does not accept/,
      ],
      [
        'HS256 keyed with the public JWK text',
        await hmacWithPublicKey(Buffer.from(JSON.stringify(publicJwk))),
        /algorithm this service does not accept/,
      ],
      [
        'expired',
        await signed(claims({ iat: now() - 7200, exp: now() - 3600 })),
        /^The token has expired\.$/,
      ],
      [
        'not yet valid',
        await signed(claims({ nbf: now() + 3600 })),
        /^The token is not valid yet\.$/,
      ],
      [
        'issued in the future',
        await signed(claims({ iat: now() + 3600 })),
        /^The token was issued in the future\.$/,
      ],
      [
        'another audience',
        await signed(claims({ aud: 'someone-else' })),
        /^The token is meant for another audience\.$/,
      ],
      [
        'another issuer',
        await signed(claims({ iss: 'https://evil.example/' })),
        /^The token was issued by another issuer\.$/,
      ],
      ['no subject', await signed(claims({ sub: undefined })), /^The token has no "sub" claim\.$/],
      ['no expiry', await signed(claims({ exp: undefined })), /^The token has no "exp" claim\.$/],
      [
        'no issue time',
        await signed(claims({ iat: undefined })),
        /^The token has no "iat" claim\.$/,
      ],
      [
        'a path as subject',
        await signed(claims({ sub: '../../etc' })),
        /^The token subject \("sub"\) is not a valid user id\.$/,
      ],
      ['another key (and key id)', strangerToken, /^The token signature is invalid\.$/],
      [
        'a payload swapped under a valid signature',
        `${validHeader}.${b64(claims({ sub: 'bob' }))}.${validSignature}`,
        /^The token signature is invalid\.$/,
      ],
      [
        'a truncated signature',
        `${validHeader}.${validPayload}.${validSignature?.slice(0, 20)}`,
        /^The token signature is invalid\.$/,
      ],
      [
        'malformed base64',
        `${validHeader}.%%%%.${validSignature}`,
        /^The token is not a signed JWT/,
      ],
      [
        'base64 of garbage',
        `${validHeader}.${Buffer.from([0xff, 0xfe, 0x00]).toString('base64url')}.${validSignature}`,
        /^The token is malformed\.$|signature is invalid/,
      ],
      [
        'a header that is not JSON',
        `${Buffer.from('{"alg":').toString('base64url')}.${validPayload}.${validSignature}`,
        /^The token is malformed\.$/,
      ],
      [
        'a 10 kB token',
        `${b64({ alg: 'Ed25519', pad: 'x'.repeat(10_000) })}.${validPayload}.${validSignature}`,
        /^The token is longer than 8192 bytes\.$/,
      ],
    ];
    for (const [name, token, message] of cases) {
      const answer = await get('/v1/predictions', token);
      expect(answer.status, name).toBe(401);
      expect(answer.headers.get('www-authenticate'), name).toMatch(/^Bearer realm="churnline"/);
      const body = JSON.parse(answer.text) as { error: { code: string; message: string } };
      expect(Object.keys(body), name).toEqual(['error']);
      expect(body.error.code, name).toBe('unauthorized');
      expect(body.error.message, name).toMatch(message);
      expect(answer.text, name).not.toMatch(/ at |node_modules|jose/);
    }
    expect((await get('/v1/predictions', valid)).status).toBe(200);
  });

  it('refuses a 1 MB Authorization header at the HTTP layer with 431 and a JSON error', async () => {
    const huge = `${b64({ alg: 'Ed25519', pad: 'x'.repeat(1024 * 1024) })}.e30.AAAA`;
    const answer = await get('/v1/predictions', huge);
    expect(answer.status).toBe(431);
    expect(JSON.parse(answer.text)).toEqual({
      error: {
        code: 'headers_too_large',
        message: expect.stringMatching(/^The request headers are larger than/),
      },
    });
    expect((await get('/healthz', undefined)).status).toBe(200);
  });
});

const ownServices: RunningService[] = [];
afterAll(async () => {
  for (const running of ownServices) await running.stop();
});

describe("other users' ids", () => {
  it('answers 404 everywhere for another user, byte for byte as for an id that does not exist', async () => {
    const scoring = await startService();
    const alice = await scoring.token('alice');
    const bob = await scoring.token('bob');
    const done = await submitCsv(scoring, alice, sample);
    await waitForStatus(scoring.url, alice, done.predictionId, ['completed']);
    await scoring.app.close();
    // The same data on an API without a worker, so a second prediction stays "queued": a 409
    // "not ready yet" for it would tell Bob that it exists.
    const service = await startService(scoring.env, ['api'], scoring.dataDir);
    ownServices.push(service);
    const pending = await submitCsv(service, alice, sample);
    const before = await storedState(service);
    const missing = '00000000-0000-4000-8000-000000000000';

    const routes = (upload: string, prediction: string): Array<[string, string, unknown?]> => [
      ['GET', `/v1/uploads/${upload}`],
      ['GET', `/v1/predictions/${prediction}`],
      ['GET', `/v1/predictions/${prediction}/results.csv`],
      ['GET', `/v1/predictions/${prediction}/rows`],
      ['GET', `/v1/predictions/${prediction}/rows?tier=high&sort=row&customerId=7590`],
      ['DELETE', `/v1/predictions/${prediction}`],
      ['POST', '/v1/predictions', { uploadId: upload }],
    ];
    const ask = async ([method, path, body]: [string, string, unknown?]) => {
      const response = await fetch(
        `${service.url}${path}`,
        authorised(bob, {
          method,
          ...(body === undefined
            ? {}
            : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
        }),
      );
      return { status: response.status, body: await response.text() };
    };
    for (const ids of [
      [done.uploadId, done.predictionId],
      [pending.uploadId, pending.predictionId],
    ] as const) {
      const theirs = routes(...ids);
      const nobodys = routes(missing, missing);
      for (const [index, route] of theirs.entries()) {
        const answer = await ask(route);
        expect(answer.status, route.join(' ')).toBe(404);
        expect(answer.body, route.join(' ')).toEqual(
          (await ask(nobodys[index] as [string, string, unknown?])).body,
        );
      }
    }

    const list = async (path: string) =>
      (await (await fetch(`${service.url}${path}`, authorised(bob))).json()) as Record<
        string,
        unknown[]
      >;
    expect((await list('/v1/uploads')).uploads).toEqual([]);
    expect((await list('/v1/predictions')).predictions).toEqual([]);
    expect((await list('/v1/predictions?status=queued')).predictions).toEqual([]);
    expect(await storedState(service)).toEqual(before);

    // Bob's own upload does not make Alice's visible either.
    expect((await upload(service.url, bob, sample)).status).toBe(201);
    const bobs = await list('/v1/uploads');
    expect(bobs.uploads).toHaveLength(1);
    expect(JSON.stringify(bobs)).not.toContain(done.uploadId);
  });
});
