import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createLocalToken } from '../../src/api/auth/local-key.js';
import { type App, type AppSeams, createApp, type Role } from '../../src/app.js';
import { parseConfig } from '../../src/config/index.js';

export interface RunningService {
  readonly app: App;
  readonly url: string;
  readonly dataDir: string;
  readonly env: Record<string, string>;
  /** A local token; `issuedAt` in the past makes an expired one. */
  token(userId: string, ttlSeconds?: number, issuedAt?: Date): Promise<string>;
  stop(): Promise<void>;
}

/** A real service (HTTP on a random port, SQLite and files in a temp directory). */
export async function startService(
  env: Record<string, string> = {},
  roles: Role[] = ['api', 'worker'],
  dataDir = mkdtempSync(path.join(tmpdir(), 'churnline-service-')),
  seams: AppSeams = {},
): Promise<RunningService> {
  const fullEnv = {
    CHURNLINE_DATA_DIR: dataDir,
    PORT: '0',
    JOB_SIGNING_KEYS: `test1:${randomBytes(32).toString('base64')}`,
    QUEUE_POLL_INTERVAL_MS: '20',
    MONITOR_INTERVAL_S: '1',
    ...env,
  };
  const config = parseConfig(fullEnv);
  const app = await createApp(
    config,
    pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    roles,
    seams,
  );
  await app.start();
  let url = '';
  if (app.server) {
    await app.server.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.server.address() as AddressInfo).port}`;
  }
  return {
    app,
    url,
    dataDir,
    env: fullEnv,
    token: (userId, ttlSeconds = 3600, issuedAt) =>
      createLocalToken({ dataDir, userId, ttlSeconds, ...(issuedAt ? { now: issuedAt } : {}) }),
    async stop() {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function authorised(token: string, init: RequestInit = {}): RequestInit {
  return {
    ...init,
    headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
  };
}

/** POST /v1/predictions for `uploadId`, answered as it is: the caller checks the status. */
export function postPrediction(url: string, token: string, uploadId: string): Promise<Response> {
  return fetch(
    `${url}/v1/predictions`,
    authorised(token, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uploadId }),
    }),
  );
}

/** Uploads `content` as a multipart file the way a browser or curl -F does. */
export async function upload(
  url: string,
  token: string,
  content: Buffer | string,
  filename = 'customers.csv',
  type = 'text/csv',
): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([content], { type }), filename);
  return fetch(`${url}/v1/uploads`, authorised(token, { method: 'POST', body: form }));
}

export async function waitForStatus(
  url: string,
  token: string,
  predictionId: string,
  statuses: string[],
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${url}/v1/predictions/${predictionId}`, authorised(token));
    const body = (await response.json()) as Record<string, unknown>;
    if (statuses.includes(body.status as string)) return body;
    if (Date.now() > deadline)
      throw new Error(`prediction still ${String(body.status)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Uploads a CSV as a user does; fails on any answer but 201. */
export async function uploadCsv(
  service: RunningService,
  token: string,
  csv: Buffer | string,
  filename?: string,
): Promise<{ id: string; createdAt: string }> {
  const uploaded = await upload(service.url, token, csv, filename);
  if (uploaded.status !== 201)
    throw new Error(`upload answered ${uploaded.status}: ${await uploaded.text()}`);
  return (await uploaded.json()) as { id: string; createdAt: string };
}

/** A JSON request to the API as `token`'s user: the status and the parsed body (null if none). */
export async function callJson(
  service: RunningService,
  token: string,
  method: string,
  path: string,
  body?: unknown,
) {
  const response = await fetch(
    `${service.url}${path}`,
    authorised(token, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    }),
  );
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Uploads a CSV and creates a prediction from it, as a user does; fails on any other answer. */
export async function submitCsv(
  service: RunningService,
  token: string,
  csv: Buffer | string,
): Promise<{ uploadId: string; predictionId: string }> {
  const { id: uploadId } = await uploadCsv(service, token, csv);
  const created = await postPrediction(service.url, token, uploadId);
  if (created.status !== 202)
    throw new Error(`create answered ${created.status}: ${await created.text()}`);
  return { uploadId, predictionId: ((await created.json()) as { id: string }).id };
}

const cliEntry = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** A `churnline worker` process from source, with the service's environment; the caller kills it. */
export function startWorkerProcess(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', cliEntry, 'worker'], {
    env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
