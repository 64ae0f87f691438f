import { mkdtempSync, rmSync } from 'node:fs';
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
