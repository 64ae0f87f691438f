import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTtl } from '../../cli/commands/token.js';
import { UsageError } from '../../cli/errors.js';
import { runCli } from '../../cli/test-support/run-cli.js';
import { createAuthVerifier } from './verifier.js';

const dirs: string[] = [];
/** A local-mode environment, whatever AUTH_* the developer's shell has set. */
const localEnv = (dir: string) => ({ CHURNLINE_DATA_DIR: dir, AUTH_JWKS_URL: '' });
function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'churnline-token-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('churnline token create', () => {
  it('prints a token the local verifier of the same data directory accepts', async () => {
    const dir = dataDir();
    const result = await runCli(
      ['token', 'create', '--user', 'auth0|abc123', '--ttl', '12h'],
      localEnv(dir),
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const token = result.stdout.trim();
    expect(result.stdout).toBe(`${token}\n`);
    const verifier = await createAuthVerifier({ mode: 'local', dataDir: dir });
    expect(await verifier.verify(`Bearer ${token}`)).toEqual({ userId: 'auth0|abc123' });
    const { exp, iat } = decodeJwt(token);
    expect(exp! - iat!).toBe(12 * 3600);

    const defaulted = await runCli(['token', 'create', '--user', 'user_2NN'], localEnv(dir));
    const claims = decodeJwt(defaulted.stdout.trim());
    expect(claims.exp! - claims.iat!).toBe(30 * 86_400);
  });

  it('exits 2 with one clear line for a bad user id, a bad lifetime or a missing --user', async () => {
    const env = localEnv(dataDir());
    const badUser = await runCli(['token', 'create', '--user', '../etc'], env);
    expect(badUser.code).toBe(2);
    expect(badUser.stderr).toBe(
      'churnline: --user must be a user id: 1-128 letters, digits or _ | @ . : - (no "/" or ".."); got "../etc".\n',
    );
    expect(badUser.stdout).toBe('');

    const badTtl = await runCli(['token', 'create', '--user', 'alice', '--ttl', '5 weeks'], env);
    expect(badTtl.code).toBe(2);
    expect(badTtl.stderr.trim().split('\n')).toEqual([
      'churnline: --ttl must be a lifetime like 3600 (seconds), 90m, 12h or 30d, from 1s to 365d; got "5 weeks".',
    ]);

    const missing = await runCli(['token', 'create'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--user <id>' not specified");
  });

  it('exits 2 when an identity provider is configured, since the API would refuse the token', async () => {
    const result = await runCli(['token', 'create', '--user', 'alice'], {
      CHURNLINE_DATA_DIR: dataDir(),
      AUTH_JWKS_URL: 'https://example.clerk.accounts.dev/.well-known/jwks.json',
      AUTH_ISSUER: 'https://example.clerk.accounts.dev',
      AUTH_AUDIENCE: 'churnline',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^churnline: AUTH_JWKS_URL is set/);
    expect(result.stdout).toBe('');
  });
});

describe('a key pair shared by several machines (churnline token keygen, AUTH_KEY_FILE)', () => {
  it('signs with the private key where tokens are made; an API holding only the public key accepts them', async () => {
    const dir = dataDir();
    const privateFile = path.join(dir, 'token-key.jwk');
    const made = await runCli(['token', 'keygen', privateFile], localEnv(dir));
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    const publicFile = path.join(dir, 'token-key.public.jwk');
    expect(made.stdout).toContain(`set AUTH_KEY_FILE=${publicFile}`);
    expect(statSync(privateFile).mode & 0o777).toBe(0o600);
    const publicJwk = JSON.parse(readFileSync(publicFile, 'utf8'));
    expect(publicJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    expect(publicJwk).not.toHaveProperty('d');

    // Made with --key on one machine, the settings file naming the public key...
    const settings = path.join(dir, 'churnline.env');
    writeFileSync(settings, `AUTH_KEY_FILE=${publicFile}\nCHURNLINE_DATA_DIR=${dir}/data\n`);
    const created = await runCli(
      ['--env', settings, 'token', 'create', '--user', 'alice', '--key', privateFile],
      { AUTH_JWKS_URL: '' },
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    // ...checked by an API elsewhere that has only the public key and another data directory.
    const api = await createAuthVerifier({
      mode: 'local',
      dataDir: dataDir(),
      keyFile: publicFile,
    });
    expect(await api.verify(`Bearer ${created.stdout.trim()}`)).toEqual({ userId: 'alice' });
    // A token of a data directory's own key is refused there.
    const own = await runCli(['token', 'create', '--user', 'alice'], localEnv(dataDir()));
    await expect(api.verify(`Bearer ${own.stdout.trim()}`)).rejects.toThrow();
  });

  it('says what to do: a public key cannot sign, a missing file, a key file that exists, --env problems', async () => {
    const dir = dataDir();
    const privateFile = path.join(dir, 'k.jwk');
    await runCli(['token', 'keygen', privateFile], localEnv(dir));
    const publicOnly = await runCli(['token', 'create', '--user', 'alice'], {
      ...localEnv(dir),
      AUTH_KEY_FILE: path.join(dir, 'k.public.jwk'),
    });
    expect(publicOnly.code).toBe(2);
    expect(publicOnly.stderr).toMatch(/holds only the public key.*--key <private\.jwk>/);

    const missing = await runCli(['token', 'create', '--user', 'alice'], {
      ...localEnv(dir),
      AUTH_KEY_FILE: path.join(dir, 'nope.jwk'),
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /AUTH_KEY_FILE names .*nope\.jwk, which does not exist: create a key pair with `churnline token keygen/,
    );
    await expect(
      createAuthVerifier({ mode: 'local', dataDir: dir, keyFile: path.join(dir, 'nope.jwk') }),
    ).rejects.toThrow(/does not exist/);

    const again = await runCli(['token', 'keygen', privateFile], localEnv(dir));
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/k\.jwk exists already; choose another name/);

    const noFile = await runCli(
      ['--env', path.join(dir, 'none.env'), 'token', 'create', '--user', 'a'],
      localEnv(dir),
    );
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toBe(`churnline: --env ${path.join(dir, 'none.env')}: no such file.\n`);
    const both = await runCli(['token', 'create', '--user', 'a'], {
      ...localEnv(dir),
      AUTH_KEY_FILE: privateFile,
      AUTH_JWKS_URL: 'https://example.auth0.com/.well-known/jwks.json',
      AUTH_ISSUER: 'https://example.auth0.com/',
      AUTH_AUDIENCE: 'churnline',
    });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/AUTH_KEY_FILE and AUTH_JWKS_URL are both set/);
  });

  it('lets variables already set win over the --env file', async () => {
    const dir = dataDir();
    const settings = path.join(dir, 'churnline.env');
    writeFileSync(settings, `CHURNLINE_DATA_DIR=${dir}/from-file\n`);
    const made = await runCli(['--env', settings, 'token', 'create', '--user', 'alice'], {
      ...localEnv(`${dir}/from-environment`),
    });
    expect(made.code).toBe(0);
    const verifier = await createAuthVerifier({
      mode: 'local',
      dataDir: `${dir}/from-environment`,
    });
    expect(await verifier.verify(`Bearer ${made.stdout.trim()}`)).toEqual({ userId: 'alice' });
  });
});

describe('--ttl', () => {
  it.each([
    ['3600', 3600],
    ['1', 1],
    ['90m', 5400],
    ['12h', 43_200],
    ['30d', 2_592_000],
    ['365d', 31_536_000],
  ])('reads %s as %i seconds', (value, seconds) => {
    expect(parseTtl(value)).toBe(seconds);
  });

  it.each(['0', '366d', '-5', '1.5h', '10w', '', 'h', '99999999999'])('refuses %j', (value) => {
    expect(() => parseTtl(value)).toThrow(UsageError);
  });
});
