/**
 * The README's "Scaling out" recipe, run as an operator would: its shell blocks, extracted from
 * the README, against a real PostgreSQL and an SQS/S3 emulator. Only the example values the
 * README tells the operator to replace are replaced (each must still be in the README, so the
 * test fails when the recipe drifts from it). One API and two workers run as separate
 * processes; tokens are made by yet another.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAws, startLocalAws } from '../src/aws/test-support/local-aws.js';
import { freeLoopbackPort } from '../src/db/test-support/embedded-postgres.js';
import { createTestSchema } from '../src/db/test-support/postgres.js';
import { exited } from './support/fault-processes.js';
import { authorised, postPrediction, waitForStatus } from './support/service.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(path.join(repo, 'README.md'), 'utf8');
const section = readme.slice(
  readme.indexOf('\n## Scaling out\n'),
  readme.indexOf('\n## ', readme.indexOf('\n## Scaling out\n') + 1),
);

/** The shell block the README marks `<!-- recipe: name -->`. */
function recipe(name: string): string {
  const match = new RegExp(`<!-- recipe: ${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(
    section,
  );
  if (!match?.[1]) throw new Error(`README's "Scaling out" has no block marked recipe: ${name}`);
  return match[1];
}

interface Shell {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The README's two ways to queue jobs: SQS as written, or its `QUEUE=postgres` variant. */
type Variant = 'sqs' | 'postgres';

const SQS_LINES = /^QUEUE=sqs\nSQS_QUEUE_URL=.*\nSQS_DLQ_URL=.*\n/m;

let aws: LocalAws;
const running: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  aws = await startLocalAws();
});

afterAll(async () => {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      process.kill(-child.pid, 'SIGKILL');
    }
  }
  await Promise.all(running.map((child) => exited(child).catch(() => undefined)));
  for (const cleanup of cleanups) await cleanup();
  await aws?.stop();
});

/** One operator's machines: a directory standing for /etc/churnline, a PATH, a database, a port. */
async function machines(variant: Variant) {
  const [pg, port] = await Promise.all([createTestSchema(), freeLoopbackPort()]);
  const dir = mkdtempSync(path.join(tmpdir(), 'churnline-recipe-'));
  cleanups.push(async () => {
    await pg.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const sub of ['bin', 'work']) mkdirSync(path.join(dir, sub));
  // `churnline` on the PATH, as `npm link` puts it there, running this checkout's source.
  const shim = path.join(dir, 'bin', 'churnline');
  const loader = path.join(repo, 'node_modules', 'tsx', 'dist', 'loader.mjs');
  writeFileSync(
    shim,
    `#!/bin/sh\nexec '${process.execPath}' --import '${pathToFileURL(loader).href}' '${path.join(repo, 'src', 'cli', 'main.ts')}' "$@"\n`,
  );
  chmodSync(shim, 0o755);
  copyFileSync(
    path.join(repo, 'data', 'telco-customer-churn.csv'),
    path.join(dir, 'work', 'customers.csv'),
  );
  // What the README tells the operator to replace, and this machine's values.
  const replacements: [string, string][] = [
    ['/etc/churnline', path.join(dir, 'etc')],
    ['postgres://churnline:change-me@db.internal:5432/churnline', pg.url],
    ['AWS_REGION=eu-west-1', `AWS_REGION=${aws.region}`],
    // The emulator's queue URLs, as it answers CreateQueue.
    [
      'https://sqs.eu-west-1.amazonaws.com/123456789012/',
      `http://sqs.${aws.region}.localhost:${new URL(aws.endpoint).port}/000000000000/`,
    ],
    // Loopback only: a test does not listen on every interface.
    ['HOST=0.0.0.0', 'HOST=127.0.0.1'],
    ['PORT=8080', `PORT=${port}`],
    ['http://api.internal:8080', `http://127.0.0.1:${port}`],
  ];
  for (const [example] of replacements) expect(section).toContain(example);

  /** The block with the README's example values replaced by this machine's. */
  const localised = (block: string) => {
    let text = block;
    for (const [example, value] of replacements) text = text.replaceAll(example, value);
    // The README's variant: "replace the three QUEUE/SQS_* lines with QUEUE=postgres".
    if (variant === 'postgres') text = text.replace(SQS_LINES, 'QUEUE=postgres\n');
    return text;
  };
  const spawnBlock = (script: string, detached: boolean) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: path.join(dir, 'work'),
      env: {
        ...process.env,
        PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`,
        // As the README says: credentials come from the SDK's chain, never from the file.
        AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    return { child, out: () => ({ stdout, stderr }) };
  };
  return {
    dir,
    url: `http://127.0.0.1:${port}`,
    /** Runs a block to its end. */
    shell(block: string): Promise<Shell> {
      const { child, out } = spawnBlock(localised(block), false);
      return new Promise((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, ...out() }));
      });
    },
    /** Starts a long-running block in its own process group; its log so far. */
    start(block: string): { child: ChildProcess; log: () => string } {
      const { child, out } = spawnBlock(`exec ${localised(block).trim()}`, true);
      running.push(child);
      return { child, log: () => out().stdout + out().stderr };
    },
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the README's Scaling out recipe", () => {
  it.each<Variant>(['sqs', 'postgres'])(
    'runs as written (QUEUE=%s): shared settings, setup, one API, two workers, tokens from another process',
    async (variant) => {
      const machine = await machines(variant);
      const etc = path.join(machine.dir, 'etc');

      // 1. The shared settings and the token key pair.
      expect(recipe('settings')).toMatch(SQS_LINES);
      const settings = await machine.shell(recipe('settings'));
      expect(settings.stderr).toBe('');
      expect(settings.code).toBe(0);
      const envFile = path.join(etc, 'churnline.env');
      // One key, generated once, in the file every machine gets.
      expect(readFileSync(envFile, 'utf8')).toMatch(/^JOB_SIGNING_KEYS=k1:[A-Za-z0-9+/]{43}=$/m);
      expect(statSync(envFile).mode & 0o777).toBe(0o600);
      expect(statSync(path.join(etc, 'token-key.jwk')).mode & 0o777).toBe(0o600);
      const publicKey = JSON.parse(readFileSync(path.join(etc, 'token-key.public.jwk'), 'utf8'));
      expect(publicKey).not.toHaveProperty('d');
      // The README's variant for an S3-compatible store (the emulator serves SQS too).
      expect(section).toContain(
        'add `AWS_ENDPOINT_URL=http://minio:9000` and\n  `S3_FORCE_PATH_STYLE=true`',
      );
      await appendFile(envFile, `AWS_ENDPOINT_URL=${aws.endpoint}\nS3_FORCE_PATH_STYLE=true\n`);

      // 2. Tables, queues and bucket; a second run finds them all.
      const setup = await machine.shell(recipe('setup'));
      expect(setup.stderr).toBe('');
      expect(setup.code).toBe(0);
      expect(setup.stdout).toMatch(/^database tables ready in postgres:\/\/.*:\*\*\*@/m);
      if (variant === 'sqs') {
        expect(setup.stdout).toContain('created the dead-letter queue');
        expect(setup.stdout).toContain('created the queue');
        expect(setup.stdout).toContain('created the bucket churnline-files-123456789012');
      } else {
        expect(setup.stdout).toContain('queue    table ready in the PostgreSQL database');
      }
      const again = await machine.shell(recipe('setup'));
      expect(again.code).toBe(0);
      expect(again.stdout).toContain(variant === 'sqs' ? 'found the queue' : 'table ready');
      expect(again.stdout).toContain('found the bucket');
      expect(again.stdout).not.toMatch(/warning|fatal/);

      // 4. One API and two workers, each its own process.
      const api = machine.start(recipe('api'));
      const workers = [machine.start(recipe('worker')), machine.start(recipe('worker'))];
      const { url } = machine;
      await until('the API to be ready', async () =>
        (await fetch(`${url}/readyz`)).status === 200 ? true : undefined,
      );
      for (const worker of workers) {
        await until('both workers to run', async () =>
          worker.log().includes('Churnline worker is running') ? true : undefined,
        );
      }
      expect(api.log()).toContain('churnline token create --user <id> --key <private.jwk>');

      // 5. A token made by another process, where the private key is; an upload with it.
      const client = await machine.shell(`${recipe('client')}\nprintf '\\n%s\\n' "$TOKEN"`);
      expect(client.stderr).toBe('');
      expect(client.code).toBe(0);
      const [uploadLine, tokenLine] = client.stdout.trim().split('\n');
      const upload = JSON.parse(uploadLine ?? '') as { id: string; rowCount: number };
      expect(upload.rowCount).toBe(7043);
      const token = tokenLine ?? '';

      const completes = async () => {
        const created = await postPrediction(url, token, upload.id);
        expect(created.status).toBe(202);
        const { id } = (await created.json()) as { id: string };
        const done = await waitForStatus(url, token, id, ['completed', 'failed'], 120_000);
        expect(done.status, JSON.stringify(done)).toBe('completed');
        return id;
      };
      await Promise.all([completes(), completes(), completes()]);

      // The CLI's queue commands, given the service's file, read the shared queue.
      const operate = await machine.shell(recipe('operate'));
      expect(operate.code).toBe(0);
      expect(JSON.parse(operate.stdout)).toMatchObject({ visible: 0, inFlight: 0 });

      // Stop one worker as a supervisor does; the other goes on alone.
      const [first] = workers;
      if (!first?.child.pid) throw new Error('worker has no pid');
      process.kill(-first.child.pid, 'SIGTERM');
      expect((await exited(first.child)).code).toBe(0);
      const last = await completes();
      const rows = await fetch(`${url}/v1/predictions/${last}/rows?limit=1`, authorised(token));
      expect(rows.status).toBe(200);
    },
    300_000,
  );
});
