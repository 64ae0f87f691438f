/**
 * npm run bench:webhooks — how soon a webhook reaches its receiver after its prediction completes
 * (issue #15's goal: within 1 s, median), on the embedded setup as one process runs it (API and
 * worker together: the worker wakes the relay) and as a machine split into processes runs it
 * (`churnline serve --roles api` and `churnline worker` from the build, sharing the SQLite files:
 * the API's relay finds the worker's delivery at its next poll, every second).
 *
 * Each run registers a webhook on a local receiver, scores --runs (default 30) 1,000-row Telco
 * files one after another and prints the median and p95 of (time received - completedAt).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLocalToken } from '../../src/api/auth/local-key.js';
import { buildDist, log, median, numberFlag, root } from '../support.js';

const RUNS = numberFlag('runs', 30);
const telco = readFileSync(`${root}data/telco-customer-churn.csv`, 'utf8');
const [header, ...rows] = telco.trimEnd().split('\n');
const csv = `${header}\n${rows.slice(0, 1000).join('\n')}\n`;
const cliEntry = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** Arrival times by prediction id. */
const arrivals = new Map<string, number>();
const receiver = createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => {
    body += chunk;
  });
  request.on('end', () => {
    const at = Date.now();
    const event = JSON.parse(body) as { type: string; data: { predictionId?: string } };
    if (event.type === 'prediction.completed' && event.data.predictionId)
      arrivals.set(event.data.predictionId, at);
    response.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts the processes of one setup and measures RUNS predictions through them. */
async function measure(setup: 'one process' | 'API and worker processes'): Promise<number[]> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'churnline-bench-webhooks-'));
  const port = await freePort();
  const env = {
    ...process.env,
    CHURNLINE_DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    JOB_SIGNING_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    // The benchmark measures the pipeline, not the per-user limits (test/quotas.test.ts).
    QUOTA_STORED_BYTES: '0',
    QUOTA_UPLOADS_PER_DAY: '0',
    QUOTA_ACTIVE_JOBS: '0',
    RATE_LIMIT_PER_SECOND: '0',
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    WEBHOOK_ALLOW_HTTP: 'true',
    LOG_LEVEL: 'warn',
  };
  const start = (args: string[]) =>
    spawn(process.execPath, [cliEntry, ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const children: ChildProcess[] =
    setup === 'one process'
      ? [start(['serve'])]
      : [start(['serve', '--roles', 'api']), start(['worker'])];
  const url = `http://127.0.0.1:${port}`;
  try {
    while (
      !(await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (children.some((child) => child.exitCode !== null)) throw new Error('a process exited');
      await new Promise((r) => setTimeout(r, 100));
    }
    const token = await createLocalToken({ dataDir, userId: 'bench', ttlSeconds: 3600 });
    const call = async (route: string, init: RequestInit = {}) => {
      const response = await fetch(`${url}${route}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, ...init.headers },
      });
      if (!response.ok) throw new Error(`${route}: ${response.status} ${await response.text()}`);
      return (await response.json()) as Record<string, unknown>;
    };
    const json = { 'content-type': 'application/json' };
    await call('/v1/webhooks', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ url: receiverUrl, events: ['prediction.completed'] }),
    });
    const latencies: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const form = new FormData();
      form.append('file', new Blob([csv], { type: 'text/csv' }), 'customers.csv');
      const uploaded = await call('/v1/uploads', { method: 'POST', body: form });
      const created = await call('/v1/predictions', {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ uploadId: uploaded.id }),
      });
      const id = created.id as string;
      const deadline = Date.now() + 60_000;
      while (!arrivals.has(id)) {
        if (Date.now() > deadline) throw new Error(`no webhook for ${id} within 60 s`);
        await new Promise((r) => setTimeout(r, 5));
      }
      const prediction = await call(`/v1/predictions/${id}`);
      latencies.push((arrivals.get(id) as number) - Date.parse(prediction.completedAt as string));
    }
    return latencies;
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(
      children.map(
        (child) =>
          new Promise((resolve) =>
            child.exitCode !== null ? resolve(null) : child.once('exit', resolve),
          ),
      ),
    );
    rmSync(dataDir, { recursive: true, force: true });
  }
}

buildDist(['dist/cli/main.js']);
const results: Array<[string, number[]]> = [];
for (const setup of ['one process', 'API and worker processes'] as const) {
  log(`${setup}: ${RUNS} predictions of 1,000 rows`);
  results.push([setup, await measure(setup)]);
}
receiver.close();

console.log('\n## Webhook delivery after the prediction completes\n');
console.log('| setup | predictions | median ms | p95 ms | max ms |');
console.log('|---|---|---|---|---|');
for (const [setup, latencies] of results) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const p95 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)] as number;
  console.log(`| ${setup} | ${sorted.length} | ${median(sorted)} | ${p95} | ${sorted.at(-1)} |`);
}
const worst = Math.max(...results.map(([, latencies]) => median(latencies)));
console.log(
  `\ngoal: median within 1 s of completing: ${worst <= 1000 ? 'met' : 'MISSED'} (${worst} ms at worst)`,
);
