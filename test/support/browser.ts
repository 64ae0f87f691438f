import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/**
 * CI sets CHURNLINE_BROWSER_TESTS=required (.ci/run): there a missing browser fails the run.
 * Anywhere else the browser tests are skipped, saying so, and everything else still runs.
 */
const required = process.env.CHURNLINE_BROWSER_TESTS === 'required';

/** Whether the browser tests can run here; throws where they must and cannot. */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  const what = `No Chromium at ${CHROMIUM_PATH} (install it with: apt-get install -y chromium, or set CHROMIUM_PATH)`;
  if (required) throw new Error(`${what}; CHURNLINE_BROWSER_TESTS=required makes it mandatory.`);
  process.stderr.write(`\n${what}: SKIPPING the dashboard browser tests.\n\n`);
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Refuses and records every request the pages of `context` make to anywhere but `origin`: the
 * dashboard must work with nothing from outside this machine (no CDN, no web fonts).
 */
export async function recordForeignRequests(
  context: BrowserContext,
  origin: string,
): Promise<string[]> {
  const foreign: string[] = [];
  await context.route(
    (url) => url.origin !== origin,
    (route) => {
      foreign.push(route.request().url());
      return route.abort('blockedbyclient');
    },
  );
  return foreign;
}

const repo = fileURLToPath(new URL('../../', import.meta.url));
export const ARTIFACTS = path.join(repo, 'test-artifacts');

/**
 * Builds web/ into web/dist so the browser tests see the current source (a Vite build takes
 * well under a second). Browser test files run in parallel processes: a lock directory makes
 * the second one wait for the first build instead of racing it.
 */
export async function buildDashboard(): Promise<void> {
  const lock = path.join(
    tmpdir(),
    `churnline-web-build-${Buffer.from(repo).toString('hex').slice(-24)}`,
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (Date.now() > deadline)
        throw new Error(`${lock} has been held for a minute; remove it if no build runs.`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    execFileSync(
      process.execPath,
      [path.join(repo, 'node_modules/vite/bin/vite.js'), 'build', 'web', '--logLevel', 'warn'],
      {
        cwd: repo,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface ServeProcess {
  /** The dashboard link `churnline serve` printed (with #token=...). */
  readonly link: string;
  readonly url: string;
  readonly token: string;
  /** Its data directory: tests sign tokens for other users with its key (createLocalToken). */
  readonly dataDir: string;
  stop(): Promise<void>;
}

/**
 * `churnline serve` as a user runs it (from source), in a fresh data directory on a free port;
 * resolves with the dashboard link it prints.
 */
export async function startServe(env: Record<string, string> = {}): Promise<ServeProcess> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'churnline-serve-'));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repo, 'src/cli/main.ts'), 'serve'],
    {
      cwd: repo,
      env: {
        ...process.env,
        CHURNLINE_DATA_DIR: dataDir,
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const stop = async () => {
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const link = await printedLink(child);
    const parsed = new URL(link);
    const token = decodeURIComponent(/^#token=(.+)$/.exec(parsed.hash)?.[1] ?? '');
    if (!token) throw new Error(`the printed link has no token: ${link}`);
    return { link, url: parsed.origin, token, dataDir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function printedLink(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`serve printed no dashboard link in 60 s:\n${output}`)),
      60_000,
    );
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      output += chunk;
      const match = /Dashboard[^:]*: (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before printing a link:\n${output}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}
