import { spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { newId, uploadKey, userPrefix } from '../ids.js';
import { describeBlobStoreContract } from './blobs.contract.js';
import { FsBlobStore, fsErrorToBlobError } from './fs.js';
import { BlobError } from './port.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'churnline-blobs-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Every file under `dir`, relative, walking all levels. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}

describeBlobStoreContract('fs', async () => {
  const dir = tempDir();
  const root = path.join(dir, 'blobs');
  return {
    store: new FsBlobStore(root),
    // Temporary files are the only trace a failed put could leave on disk.
    leftovers: async () => {
      try {
        return filesUnder(root).filter(
          (file) => file.includes('~tmp-') || file.includes('~meta-tmp-'),
        );
      } catch {
        return [];
      }
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

const USER = 'auth0|5f7c8ec7c33c6c004bbafe82';

/**
 * Another process writing a key from a body that never ends, once its temporary file exists (the
 * caller kills it; afterEach removes the directory).
 */
async function stuckWriter() {
  const root = path.join(tempDir(), 'blobs');
  mkdirSync(root);
  const key = uploadKey(USER, newId());
  const store = new URL('./fs.ts', import.meta.url).href;
  const writer = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { FsBlobStore } = await import(${JSON.stringify(store)});
       const { PassThrough } = await import('node:stream');
       const body = new PassThrough();
       body.write('half a file');
       setInterval(() => {}, 1000);
       await new FsBlobStore(${JSON.stringify(root)}).put(${JSON.stringify(key)}, body);`,
    ],
    { stdio: 'ignore' },
  );
  const temporaries = () =>
    filesUnder(root).filter((file) => file.includes('~tmp-') || file.includes('~meta-tmp-'));
  for (let waited = 0; temporaries().length === 0; waited += 50) {
    if (waited > 20_000) {
      writer.kill('SIGKILL');
      throw new Error('the writer made no temporary file');
    }
    await delay(50);
  }
  return { root, key, writer, temporaries };
}

describe('FsBlobStore', () => {
  it('keeps each object as a plain file at its key, readable by the service user only', async () => {
    const root = path.join(tempDir(), 'blobs');
    const store = new FsBlobStore(root);
    const id = newId();
    await store.put(uploadKey(USER, id), 'customerID,tenure\n1,12\n', { contentType: 'text/csv' });
    const file = path.join(
      root,
      'users',
      'auth0%7C5f7c8ec7c33c6c004bbafe82',
      'uploads',
      `${id}.csv`,
    );
    expect(readFileSync(file, 'utf8')).toBe('customerID,tenure\n1,12\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(`${file}~meta.json`, 'utf8'))).toEqual({
      contentType: 'text/csv',
      metadata: {},
    });
  });

  it('does not list or serve the leftovers of a crashed write', async () => {
    const root = path.join(tempDir(), 'blobs');
    const store = new FsBlobStore(root);
    const key = uploadKey(USER, newId());
    await store.put(key, 'whole\n');
    writeFileSync(path.join(root, `${key}~tmp-123-abc`), 'half');
    expect(await store.list(userPrefix(USER))).toEqual([key]);
    expect(await store.head(key)).toMatchObject({ bytes: 6 });
  });

  it('removes the temporaries of a writer killed mid-put when the key is written again', async () => {
    const { root, key, writer, temporaries } = await stuckWriter();
    const local = new FsBlobStore(root);
    await local.put(key, 'whole\n');
    // Beside the object, in the directory a put searches instead of the objects' own.
    const [temporary, ...others] = temporaries();
    expect(others).toEqual([]); // its writer still runs: not ours to remove
    expect(path.dirname(temporary as string)).toBe(path.join(path.dirname(key), '~tmp'));
    expect(path.basename(temporary as string)).toMatch(
      new RegExp(`^${path.basename(key)}~tmp-${writer.pid}\\.`),
    );
    writer.kill('SIGKILL');
    await new Promise((resolve) => writer.once('exit', resolve));
    await local.put(key, 'whole again\n');
    expect(temporaries()).toEqual([]);
    expect(await local.list(userPrefix(USER))).toEqual([key]);
    // The directory of temporaries stays, empty, until the directory's last object goes.
    expect(readdirSync(path.join(root, path.dirname(key))).sort()).toEqual([
      path.basename(key),
      `${path.basename(key)}~meta.json`,
      '~tmp',
    ]);
    expect(readdirSync(path.join(root, path.dirname(key), '~tmp'))).toEqual([]);
  });

  it('stores every put while deletes empty and remove its directories under it', async () => {
    // Deleting a directory's last object removes the directory (and its ~tmp): puts racing
    // those deletes must make them again.
    const root = path.join(tempDir(), 'blobs');
    const store = new FsBlobStore(root);
    const keys = Array.from({ length: 600 }, () => uploadKey(USER, newId()));
    for (let at = 0; at < keys.length; at += 3) {
      await Promise.all([
        ...keys.slice(at, at + 3).map((key) => store.put(key, `${key}\n`)),
        ...keys.slice(Math.max(0, at - 3), at).map((key) => store.delete(key)),
      ]);
    }
    expect(await store.list(userPrefix(USER))).toEqual(keys.slice(-3).sort());
    await Promise.all(keys.slice(-3).map((key) => store.delete(key)));
    expect(readdirSync(root)).toEqual([]);
  });

  it('removes the temporaries of a writer killed mid-put when the key is deleted', async () => {
    const { root, key, writer, temporaries } = await stuckWriter();
    const local = new FsBlobStore(root);
    await local.delete(key);
    expect(temporaries()).toHaveLength(1); // its writer still runs: not ours to remove
    writer.kill('SIGKILL');
    await new Promise((resolve) => writer.once('exit', resolve));
    await local.delete(key);
    expect(filesUnder(root)).toEqual([]);
    expect(readdirSync(root)).toEqual([]); // and the user's directories went with it
  });

  it("removes a user's whole directory on deletePrefix, leftovers and directory name included", async () => {
    const root = path.join(tempDir(), 'blobs');
    const store = new FsBlobStore(root);
    const key = uploadKey(USER, newId());
    await store.put(key, 'x\n');
    await store.put(uploadKey('other', newId()), 'y\n');
    writeFileSync(path.join(root, `${key}~tmp-999-dead`), 'half');
    expect(await store.deletePrefix(userPrefix(USER))).toBe(1);
    expect(readdirSync(path.join(root, 'users'))).toEqual(['other']);
    await store.delete((await store.list('users/other/'))[0]!);
    // Emptied directories go too, up to (not including) the root.
    expect(readdirSync(root)).toEqual([]);
  });

  it('reports a key whose path is taken by a directory as a conflict', async () => {
    const root = path.join(tempDir(), 'blobs');
    const store = new FsBlobStore(root);
    mkdirSync(path.join(root, 'users', 'u', 'uploads'), { recursive: true });
    const error = await store.put('users/u/uploads', 'x').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'conflict', retryable: false });
    expect(readdirSync(path.join(root, 'users', 'u'))).toEqual(['uploads']);
  });

  it('maps file-system errors to BlobErrors that say whether to retry', () => {
    const fsError = (code: string) => Object.assign(new Error(code), { code });
    const mapped = (code: string) => fsErrorToBlobError(fsError(code), 'k');
    for (const code of ['ENOSPC', 'EIO', 'EMFILE', 'ENFILE', 'ETIMEDOUT', 'EBUSY']) {
      expect(mapped(code)).toBeInstanceOf(BlobError);
      expect(mapped(code).retryable, code).toBe(true);
    }
    expect(mapped('ENOSPC').code).toBe('no_space');
    expect(mapped('EIO').code).toBe('io');
    expect(mapped('EMFILE').code).toBe('busy');
    expect(mapped('ETIMEDOUT').code).toBe('timeout');
    for (const [code, blobCode] of [
      ['ENOENT', 'not_found'],
      ['EACCES', 'permission_denied'],
      ['EROFS', 'permission_denied'],
      ['ENAMETOOLONG', 'invalid_key'],
      ['ENOTDIR', 'conflict'],
    ] as const) {
      expect(mapped(code)).toMatchObject({ code: blobCode, retryable: false });
    }
    expect(mapped('EIO').cause).toBeInstanceOf(Error);
  });
});
