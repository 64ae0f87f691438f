import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { registerResource, signalPid } from './cleanup.js';
import { freeLoopbackPort } from './ports.js';

export interface RunningRedis {
  readonly port: number;
  readonly version: string;
}

function redisVersion(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return undefined;
  return /v=(\S+)/.exec(probe.stdout)?.[1] ?? probe.stdout.trim();
}

/** Installs Debian's redis-server when it is missing (the bench runs as root in CI images). */
function ensureRedisInstalled(): string {
  const installed = redisVersion();
  if (installed) return installed;
  console.error('bench: redis-server is missing; installing it with apt-get (once)...');
  const install = spawnSync('sh', ['-c', 'apt-get update && apt-get install -y redis-server'], {
    // Progress to stderr, so that stdout keeps only the results.
    stdio: ['ignore', process.stderr, process.stderr],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const version = redisVersion();
  if (install.status !== 0 || !version) {
    throw new Error(
      'Could not install redis-server. Install it yourself (apt-get install -y redis-server) or run with --systems=churnline,pgboss.',
    );
  }
  return version;
}

/**
 * Starts a private Redis on a free loopback port with persistence off (no RDB snapshots, no
 * AOF): the benchmark measures the queue, and the data is thrown away at the end.
 */
export async function startRedis(workDir: string): Promise<RunningRedis> {
  const version = ensureRedisInstalled();
  mkdirSync(workDir, { recursive: true });
  const port = await freeLoopbackPort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      workDir,
      '--daemonize',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  registerResource({
    name: 'redis-server',
    stop: () => stopChild(child),
    killNow: () => signalPid(child.pid, 'SIGKILL'),
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    let ready = false;
    const timer = setTimeout(
      () => reject(new Error(`redis-server did not start:\n${output}`)),
      15_000,
    );
    // Keeps reading after start-up too: an unread pipe would fill and stall the server.
    const onData = (chunk: Buffer) => {
      if (ready) return;
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        ready = true;
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with code ${code}:\n${output}`));
    });
  });
  return { port, version };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
