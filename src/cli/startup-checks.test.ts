import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../db/test-support/embedded-postgres.js';
import { runCli } from './test-support/run-cli.js';

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'churnline-startup-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('churnline serve start-up checks', () => {
  it('exits 1 with one line naming DATABASE_URL and the host:port when the database is unreachable', async () => {
    const port = await freeLoopbackPort();
    const result = await runCli(['serve'], {
      CHURNLINE_DATA_DIR: dataDir(),
      PORT: '0',
      DATABASE_URL: `postgres://churnline:s3cret@127.0.0.1:${port}/churnline`,
      QUEUE: 'postgres',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `churnline: Cannot reach PostgreSQL at 127.0.0.1:${port} (DATABASE_URL): connection refused, nothing listens there. Check the host and port in DATABASE_URL, and that the server is running and accepts TCP connections (listen_addresses).\n`,
    );
  });
});
