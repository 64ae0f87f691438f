/**
 * npm run bench:upload [-- --rows N] [-- --runs N] — a multi-GiB upload through the API: its
 * throughput and the API process's peak memory while it streams, sniffs, counts, hashes and
 * stores the file. The default, 15,000,000 Telco-shaped rows, is a 2.1 GB file.
 *
 * The peer, in the same run, is a bare Node.js HTTP server that reads the same request and throws
 * the bytes away: the floor for the transfer on this machine. Each server is its own process
 * (the API as `churnline serve --roles api` from source); peak RSS is the kernel's VmHWM for that
 * process, read after the upload. Goal (issue #16): a 2 GiB upload with the API under 300 MB.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createLocalToken } from '../../src/api/auth/local-key.js';
import { freeLoopbackPort } from '../../src/db/test-support/embedded-postgres.js';
import { ensureTelcoCsv, log, median, numberFlag, root } from '../support.js';

const ROWS = numberFlag('rows', 15_000_000);
const RUNS = numberFlag('runs', 3);
const run = promisify(execFile);

/** Peak and current resident memory of a process, in MB, from /proc. */
function memoryOf(pid: number): { peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
  return { peakMb: kb / 1024 };
}

/** Waits until something answers on the port. */
async function until(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (
      await fetch(url).then(
        () => true,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing answered at ${url}`);
}

/** POSTs the file as multipart with curl (streamed from disk); seconds and the answer. */
async function upload(url: string, file: string, token?: string) {
  const started = performance.now();
  const { stdout } = await run(
    'curl',
    [
      '-sS',
      '--fail-with-body',
      ...(token ? ['-H', `Authorization: Bearer ${token}`] : []),
      '-F',
      `file=@${file};type=text/csv`,
      url,
    ],
    { maxBuffer: 1024 * 1024 },
  );
  return { seconds: (performance.now() - started) / 1000, answer: stdout };
}

const PEER = `
const http = require('node:http');
http.createServer((req, res) => {
  let bytes = 0;
  req.on('data', (chunk) => { bytes += chunk.length; });
  req.on('end', () => res.end(JSON.stringify({ bytes })));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

const work = path.join(root, 'bench', '.work', 'upload/');
const file = await ensureTelcoCsv(work, ROWS);
const bytes = statSync(file).size;
const mib = bytes / 1024 ** 2;
log(`upload: ${ROWS.toLocaleString('en')} rows, ${(bytes / 1e9).toFixed(2)} GB; ${RUNS} runs each`);

interface Result {
  seconds: number;
  peakMb: number;
}
const results: Record<'api' | 'peer', Result[]> = { api: [], peer: [] };

for (let i = 0; i < RUNS; i++) {
  for (const who of ['peer', 'api'] as const) {
    const port = await freeLoopbackPort();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'churnline-bench-upload-'));
    const child =
      who === 'peer'
        ? spawn(process.execPath, ['-e', PEER], { env: { ...process.env, PORT: String(port) } })
        : spawn(
            process.execPath,
            ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), 'serve', '--roles', 'api'],
            {
              cwd: root,
              env: {
                ...process.env,
                CHURNLINE_DATA_DIR: dataDir,
                HOST: '127.0.0.1',
                PORT: String(port),
                LOG_LEVEL: 'warn',
                UPLOAD_MAX_BYTES: String(Math.max(bytes + 1024 ** 2, 1024)),
                QUOTA_STORED_BYTES: '0',
              },
              stdio: ['ignore', 'ignore', 'inherit'],
            },
          );
    try {
      const base = `http://127.0.0.1:${port}`;
      await until(`${base}/healthz`);
      const token =
        who === 'api'
          ? await createLocalToken({ dataDir, userId: 'bench', ttlSeconds: 3600 })
          : undefined;
      const { seconds, answer } = await upload(
        who === 'api' ? `${base}/v1/uploads` : base,
        file,
        token,
      );
      const parsed = JSON.parse(answer) as { rowCount?: number; bytes?: number };
      if (who === 'api' && parsed.rowCount !== ROWS) {
        throw new Error(`the API counted ${parsed.rowCount} rows, not ${ROWS}: ${answer}`);
      }
      const { peakMb } = memoryOf(child.pid as number);
      results[who].push({ seconds, peakMb });
      log(`  run ${i + 1} ${who}: ${seconds.toFixed(1)} s, peak RSS ${peakMb.toFixed(0)} MB`);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
}

const row = (name: string, runs: Result[]) => {
  const seconds = median(runs.map((r) => r.seconds));
  const peak = median(runs.map((r) => r.peakMb));
  return {
    name,
    seconds,
    peak,
    line: `| ${name} | ${seconds.toFixed(1)} | ${(mib / seconds).toFixed(0)} | ${peak.toFixed(0)} |`,
  };
};
const api = row('Churnline API (`serve --roles api`, embedded storage)', results.api);
const peer = row('peer: bare Node.js server discarding the body', results.peer);
process.stdout.write(
  `\n${(bytes / 1e9).toFixed(2)} GB upload (${ROWS.toLocaleString('en')} rows), medians of ${RUNS} runs\n\n` +
    '| server | seconds | MiB/s | peak RSS (MB) |\n|---|---|---|---|\n' +
    `${api.line}\n${peer.line}\n\n` +
    `API time / peer time: ${(api.seconds / peer.seconds).toFixed(2)}x; API peak RSS ${api.peak.toFixed(0)} MB (goal < 300 MB: ${api.peak < 300 ? 'met' : 'NOT met'})\n`,
);
