/**
 * Helpers shared by the benches that run the built CLI and a pandas + scikit-learn peer as child
 * processes (bench/score, bench/train).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateTelcoCsv } from './score/generate.js';

export const root = fileURLToPath(new URL('../', import.meta.url));
export const python = '/usr/bin/python3';

export const log = (message: string): void => {
  process.stderr.write(`${message}\n`);
};

/** `--name <whole number ≥ 1>`, or the fallback when the flag is absent. */
export function numberFlag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at === -1 ? fallback : Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} needs a whole number`);
  return value;
}

export const booleanFlag = (name: string): boolean => process.argv.includes(`--${name}`);

/** The middle value (the upper one of the two middles for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/**
 * A Telco-shaped CSV of `rows` rows in `dir`, generated once and reused while the row count and
 * the generator are unchanged.
 */
export async function ensureTelcoCsv(dir: string, rows: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const file = `${dir}telco-${rows}.csv`;
  const stamp = `${file}.json`;
  const expected = JSON.stringify({
    rows,
    generator: readFileSync(`${root}bench/score/generate.ts`, 'utf8').length,
  });
  if (!existsSync(file) || !existsSync(stamp) || readFileSync(stamp, 'utf8') !== expected) {
    log(`generating ${rows.toLocaleString('en-US')} rows → ${file}`);
    await generateTelcoCsv(`${root}data/telco-customer-churn.csv`, file, rows);
    writeFileSync(stamp, expected);
  }
  return file;
}

/** Installs Debian's python3-pandas and python3-sklearn when /usr/bin/python3 lacks them. */
export function ensurePython(): void {
  const check = () =>
    spawnSync(python, ['-c', 'import pandas, sklearn'], { stdio: 'ignore' }).status === 0;
  if (check()) return;
  log('installing python3-pandas and python3-sklearn (Debian packages) for the peer');
  execFileSync('apt-get', ['update'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', 'python3-pandas', 'python3-sklearn'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (!check()) throw new Error(`${python} still cannot import pandas and sklearn`);
}

/**
 * tsc -p tsconfig.build.json. Type errors elsewhere are tolerated (tsc still emits); what matters
 * is that the files the bench runs exist afterwards.
 */
export function buildDist(required: readonly string[]): void {
  spawnSync(
    process.execPath,
    [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`],
    { stdio: 'ignore' },
  );
  for (const file of required) {
    if (!existsSync(`${root}${file}`)) throw new Error(`the build did not produce ${file}`);
  }
}

export interface Measured {
  ok: boolean;
  /** Exit status of the command (128 + n when a signal ended it), or null if none was seen. */
  status: number | null;
  /** Set when the command ran out of its time. */
  timedOut: boolean;
  wallSeconds: number;
  peakRssMb: number;
  stdout: string;
  stderr: string;
  /** One line on how it failed (empty when ok): status and the last telling stderr line. */
  failure: string;
}

const SIGNALS: Record<number, string> = {
  6: 'SIGABRT',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  15: 'SIGTERM',
};

/**
 * The last stderr line that says something: skips blank lines, stack frames, Node's version
 * trailer and the native frames of a V8 fatal error.
 */
export function lastStderrLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '');
  const telling = lines.filter(
    (line) => !/^\s+at\s/.test(line) && !/^Node\.js v\d/.test(line) && !/^\s*\d+: 0x/.test(line),
  );
  return (telling.at(-1) ?? lines.at(-1) ?? '').trim().slice(0, 200);
}

/**
 * Runs a command under /usr/bin/time (wall time, peak RSS of the process tree's largest member)
 * and, when `timeoutSeconds` is given, coreutils `timeout` (TERM at the limit, KILL 10 s later;
 * without it the command runs for as long as it takes). Never throws for the command's own
 * failure: the result says how it ended.
 */
export function measure(
  command: readonly string[],
  options: { timeoutSeconds?: number; timingFile: string; env?: NodeJS.ProcessEnv },
): Measured {
  const { timeoutSeconds, timingFile } = options;
  const limited = timeoutSeconds !== undefined;
  rmSync(timingFile, { force: true });
  const result = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      '%e %M',
      '-o',
      timingFile,
      ...(limited ? ['timeout', '-k', '10', String(timeoutSeconds)] : []),
      ...command,
    ],
    {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 1 << 26,
      env: options.env ?? process.env,
      // A backstop only: `timeout` ends the command well before this.
      ...(limited ? { timeout: (timeoutSeconds + 60) * 1000, killSignal: 'SIGKILL' as const } : {}),
    },
  );
  const timing = existsSync(timingFile) ? readFileSync(timingFile, 'utf8') : '';
  const [seconds = Number.NaN, kilobytes = Number.NaN] = timing
    .trim()
    .split(/\s+/)
    .slice(-2)
    .map(Number);
  const signalled = /terminated by signal (\d+)/.exec(timing);
  const status = signalled ? 128 + Number(signalled[1]) : result.status;
  const spawnError = result.error as NodeJS.ErrnoException | undefined;
  const timedOut =
    limited &&
    (spawnError?.code === 'ETIMEDOUT' ||
      status === 124 ||
      (status === 137 && seconds >= timeoutSeconds - 0.5));
  const ok = status === 0 && !timedOut && spawnError === undefined;
  let failure = '';
  if (!ok) {
    const how = timedOut
      ? `timed out after ${timeoutSeconds} s`
      : spawnError
        ? `could not run (${spawnError.code ?? spawnError.message})`
        : signalled
          ? `killed by ${SIGNALS[Number(signalled[1])] ?? `signal ${signalled[1]}`}`
          : `exit ${status}`;
    const last = lastStderrLine(result.stderr ?? '');
    failure = last ? `${how}: ${last}` : how;
  }
  return {
    ok,
    status,
    timedOut,
    wallSeconds: seconds,
    peakRssMb: kilobytes / 1024,
    stdout: result.stdout ?? '',
    stderr: result.stderr ?? '',
    failure,
  };
}
