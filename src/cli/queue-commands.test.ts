import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteJobQueue } from '../queue/sqlite.js';
import { runCli, startCli } from './test-support/run-cli.js';

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'churnline-cli-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('churnline queue and dlq commands', () => {
  it('prints queue stats as JSON', async () => {
    const result = await runCli(['queue', 'stats'], { CHURNLINE_DATA_DIR: dataDir() });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      visible: 0,
      inFlight: 0,
      deadLetter: { visible: 0 },
    });
  });

  it('lists dead letters with their reason and redrives some, then all', async () => {
    const dir = dataDir();
    const queue = new SqliteJobQueue({ file: path.join(dir, 'queue.db') });
    await queue.sendBatch(['a', 'b', 'c'].map((body) => ({ id: body, body })));
    for (const message of await queue.receive({ maxMessages: 10, waitSeconds: 0 })) {
      await queue.moveToDeadLetter(message.receiptHandle, `rejected ${message.body}`);
    }
    await queue.close();
    const env = { CHURNLINE_DATA_DIR: dir };

    const listed = await runCli(['dlq', 'list', '--max', '2'], env);
    expect(listed.code).toBe(0);
    const letters = JSON.parse(listed.stdout) as Array<{ body: string; reason: string }>;
    expect(letters).toHaveLength(2);
    expect(letters[0]?.reason).toBe(`rejected ${letters[0]?.body}`);

    expect(JSON.parse((await runCli(['dlq', 'redrive', '--max', '1'], env)).stdout)).toEqual({
      moved: 1,
    });
    expect(JSON.parse((await runCli(['dlq', 'redrive'], env)).stdout)).toEqual({ moved: 2 });
    const stats = JSON.parse((await runCli(['queue', 'stats'], env)).stdout);
    expect(stats).toMatchObject({ visible: 3, deadLetter: { visible: 0 } });
  });

  it('exits 2 with one clear line on bad input', async () => {
    const badFlag = await runCli(['dlq', 'redrive', '--max', 'all'], {
      CHURNLINE_DATA_DIR: dataDir(),
    });
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr.trim()).toBe(
      'churnline: --max must be a whole number of at least 1; got "all".',
    );

    const badEnv = await runCli(['queue', 'stats'], {
      CHURNLINE_DATA_DIR: dataDir(),
      QUEUE_MAX_RECEIVE_COUNT: '0',
    });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain(
      'QUEUE_MAX_RECEIVE_COUNT (got "0"): must be a whole number from 1 to 1000',
    );
    expect(badEnv.stderr).not.toMatch(/\n\s+at /);

    const unknown = await runCli(['frobnicate'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
  });
});

describe('churnline serve', () => {
  it('starts with zero configuration, answers /healthz, and exits 0 on SIGTERM', async () => {
    const server = startCli(['serve'], {
      CHURNLINE_DATA_DIR: dataDir(),
      PORT: '0',
      LOG_LEVEL: 'info',
    });
    const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('serve did not report its URL')), 20_000);
      createInterface({ input: server.stderr! }).on('line', (line) => {
        const match =
          /listening on (http:\/\/\S+?)"/.exec(line) ?? /listening on (http:\/\/\S+)/.exec(line);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', queue: { visible: 0 } });
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('exits 2 with what to change when its port is in use, leaving no worker behind', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const server = startCli(['serve'], { CHURNLINE_DATA_DIR: dataDir(), PORT: String(port) });
      let stderr = '';
      server.stderr?.on('data', (chunk) => {
        stderr += String(chunk);
      });
      const code = await new Promise<number | null>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('serve did not exit')), 20_000);
        server.once('exit', (exitCode) => {
          clearTimeout(timer);
          resolve(exitCode);
        });
      });
      expect(code).toBe(2);
      expect(stderr).toContain(
        `churnline: cannot listen on 127.0.0.1:${port}: the port is in use. Set PORT to a free port, or stop what is using it.`,
      );
    } finally {
      taken.close();
    }
  });
});
