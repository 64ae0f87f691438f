/**
 * The data directory and the embedded databases are the owner's alone: created 0700 / 0600
 * (the databases' -wal and -shm files too), and tightened, with a log line, when found looser.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { parseConfig } from '../src/config/index.js';

const modeOf = (file: string) => (statSync(file).mode & 0o777).toString(8);
const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

async function started(dataDir: string) {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: 'warn' },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  const config = parseConfig({
    CHURNLINE_DATA_DIR: dataDir,
    PORT: '0',
    JOB_SIGNING_KEYS: `test1:${randomBytes(32).toString('base64')}`,
  });
  const app = await createApp(config, log, ['api', 'worker']);
  await app.start();
  return { app, lines };
}

describe('data files', () => {
  it('are created private however loose the umask', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'churnline-modes-'));
    roots.push(root);
    const dataDir = path.join(root, 'nested', 'data');
    const previous = process.umask(0o022);
    try {
      const { app, lines } = await started(dataDir);
      await app.close();
      expect(modeOf(dataDir)).toBe('700');
      for (const name of ['churnline.db', 'queue.db']) {
        expect(modeOf(path.join(dataDir, name)), name).toBe('600');
        for (const journal of ['-wal', '-shm']) {
          const file = path.join(dataDir, `${name}${journal}`);
          if (existsSync(file)) expect(modeOf(file), file).toBe('600');
        }
      }
      expect(lines.filter((line) => String(line.msg).startsWith('tightened'))).toEqual([]);
    } finally {
      process.umask(previous);
    }
  });

  it('found readable by others are tightened at start, each said in the log', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'churnline-modes-'));
    roots.push(root);
    const dataDir = path.join(root, 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    for (const name of ['churnline.db', 'churnline.db-wal']) {
      writeFileSync(path.join(dataDir, name), '', { mode: 0o644 });
      chmodSync(path.join(dataDir, name), 0o644);
    }
    // An empty database file is a new database to SQLite: the service starts on it.
    const { app, lines } = await started(dataDir);
    await app.close();
    expect(modeOf(dataDir)).toBe('700');
    expect(modeOf(path.join(dataDir, 'churnline.db'))).toBe('600');
    const tightened = lines.filter((line) => String(line.msg).startsWith('tightened'));
    expect(tightened.map((line) => [path.basename(String(line.path)), line.from, line.to])).toEqual(
      [
        ['data', '755', '700'],
        ['churnline.db', '644', '600'],
        ['churnline.db-wal', '644', '600'],
      ],
    );
  });
});
