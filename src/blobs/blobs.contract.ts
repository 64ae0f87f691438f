/**
 * The BlobStore contract: what every adapter must show. Written once; each adapter's test file
 * calls describeBlobStoreContract with a factory. A case an adapter cannot run says why.
 */
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { newId, resultKey, uploadKey, userPrefix } from '../ids.js';
import { BlobError, type BlobStore, type PutOptions } from './port.js';
import { describeRangeReads } from './range.contract.js';

export interface BlobStoreUnderTest {
  readonly store: BlobStore;
  /** What failed or aborted puts left behind that is not an object (temp files, open uploads). */
  leftovers(): Promise<string[]>;
  cleanup(): Promise<void>;
}

export type BlobStoreFactory = () => Promise<BlobStoreUnderTest>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A body arriving in uneven chunks with pauses, as an upload from the network does. */
function trickle(data: Buffer, chunkBytes = 64 * 1024 + 7): Readable {
  return Readable.from(
    (async function* () {
      for (let offset = 0; offset < data.length; offset += chunkBytes) {
        if ((offset / chunkBytes) % 16 === 0) await sleep(1);
        yield data.subarray(offset, offset + chunkBytes);
      }
    })(),
  );
}

/** A body that sends `bytes` bytes and then fails, as a dropped client connection does. */
function failingAfter(bytes: number, error: Error): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.alloc(bytes, 0x61);
      await sleep(5);
      throw error;
    })(),
  );
}

function randomBody(bytes: number): Buffer {
  const data = Buffer.alloc(bytes);
  // Cheap varied content: a linear congruential sequence, so a misplaced chunk shows.
  let x = 12345;
  for (let i = 0; i < bytes; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    data[i] = x >>> 16;
  }
  return data;
}

async function blobErrorOf(promise: Promise<unknown>): Promise<BlobError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the call to be refused');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BlobError);
  return error as BlobError;
}

const USER = 'auth0|5f7c8ec7c33c6c004bbafe82';
const OTHER = 'auth0|5f7c8ec7c33c6c004bbafe8';

export function describeBlobStoreContract(adapter: string, factory: BlobStoreFactory): void {
  describe(`BlobStore contract: ${adapter}`, () => {
    const open: BlobStoreUnderTest[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((under) => under.cleanup()));
    });
    async function setup(): Promise<BlobStoreUnderTest> {
      const under = await factory();
      open.push(under);
      return under;
    }

    it('round-trips a multi-megabyte streamed body with its byte count, sha256 and metadata', async () => {
      const { store } = await setup();
      const key = uploadKey(USER, newId());
      const data = randomBody(5 * 1024 * 1024 + 3);
      const before = Date.now();
      const put = await store.put(key, trickle(data), {
        contentType: 'text/csv',
        metadata: { 'original-name': encodeURIComponent('file (1).csv'), rows: '7043' },
      });
      expect(put).toEqual({ bytes: data.length, sha256: sha256(data) });
      expect((await readAll(await store.get(key))).equals(data)).toBe(true);
      const head = await store.head(key);
      expect(head).toMatchObject({
        bytes: data.length,
        contentType: 'text/csv',
        metadata: { 'original-name': 'file%20(1).csv', rows: '7043' },
      });
      expect(head!.lastModified.getTime()).toBeGreaterThanOrEqual(before - 2000);
    });

    it('stores Buffer, string (as UTF-8) and empty bodies', async () => {
      const { store } = await setup();
      const [a, b, c] = [newId(), newId(), newId()].map((id) => resultKey(USER, id));
      expect(await store.put(a!, Buffer.from('x,y\n1,2\n'))).toEqual({
        bytes: 8,
        sha256: sha256(Buffer.from('x,y\n1,2\n')),
      });
      expect((await store.put(b!, 'ünï,😀\n')).bytes).toBe(Buffer.byteLength('ünï,😀\n'));
      expect((await readAll(await store.get(b!))).toString('utf8')).toBe('ünï,😀\n');
      expect(await store.put(c!, '')).toEqual({ bytes: 0, sha256: sha256(Buffer.alloc(0)) });
      expect((await readAll(await store.get(c!))).length).toBe(0);
      expect(await store.head(c!)).toMatchObject({ bytes: 0, metadata: {} });
    });

    it('overwrites atomically: an open reader keeps the old version whole, later readers get the new', async () => {
      const { store } = await setup();
      const key = resultKey(USER, newId());
      const oldData = Buffer.alloc(2 * 1024 * 1024, 0x61);
      const newData = Buffer.alloc(3 * 1024 * 1024 + 1, 0x62);
      await store.put(key, oldData, { metadata: { version: 'old' } });
      const reader = await store.get(key);
      const chunks: Buffer[] = [];
      const iterator = reader[Symbol.asyncIterator]();
      const first = await iterator.next();
      chunks.push(first.value as Buffer);
      await store.put(key, trickle(newData), { metadata: { version: 'new' } });
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        chunks.push(next.value as Buffer);
      }
      expect(Buffer.concat(chunks).equals(oldData)).toBe(true);
      expect((await readAll(await store.get(key))).equals(newData)).toBe(true);
      expect(await store.head(key)).toMatchObject({
        bytes: newData.length,
        metadata: { version: 'new' },
      });
    });

    it('never shows a reader a mix of versions while the key is overwritten again and again', async () => {
      const { store } = await setup();
      const key = resultKey(USER, newId());
      const versions = [0x61, 0x62, 0x63].map((byte, i) =>
        Buffer.alloc(512 * 1024 + i * 1000, byte),
      );
      await store.put(key, versions[0]!);
      let writing = true;
      const writer = (async () => {
        for (let round = 0; round < 12; round++)
          await store.put(key, trickle(versions[round % 3]!));
        writing = false;
      })();
      const seen = new Set<number>();
      while (writing) {
        const got = await readAll(await store.get(key));
        const match = versions.findIndex((v) => v.equals(got));
        expect(match, `a read returned ${got.length} bytes that match no whole version`).not.toBe(
          -1,
        );
        seen.add(match);
      }
      await writer;
      expect(seen.size).toBeGreaterThan(0);
    });

    it('leaves nothing when the body fails mid-put, and keeps an older version intact', async () => {
      const under = await setup();
      const { store } = under;
      const fresh = uploadKey(USER, newId());
      const dropped = new Error('client went away');
      await expect(store.put(fresh, failingAfter(1024 * 1024, dropped))).rejects.toBe(dropped);
      expect(await store.head(fresh)).toBeNull();
      expect((await blobErrorOf(store.get(fresh))).code).toBe('not_found');

      const existing = uploadKey(USER, newId());
      await store.put(existing, 'old,version\n');
      await expect(store.put(existing, failingAfter(300_000, dropped))).rejects.toBe(dropped);
      expect((await readAll(await store.get(existing))).toString()).toBe('old,version\n');
      expect(await store.list(userPrefix(USER))).toEqual([existing]);
      expect(await under.leftovers()).toEqual([]);
    });

    it('rejects with the error of a body that fails before the store starts reading it', async () => {
      const under = await setup();
      const key = uploadKey(USER, newId());
      const early = new Error('connection reset before the first chunk was read');
      const body = new PassThrough();
      body.write('partial');
      const putting = under.store.put(key, body);
      body.destroy(early);
      await expect(putting).rejects.toBe(early);
      expect(await under.store.head(key)).toBeNull();
      expect(await under.leftovers()).toEqual([]);
    });

    it('destroys the body stream when the put is refused, so its source is released', async () => {
      const { store } = await setup();
      const refusals: Array<[string, (body: PassThrough) => Promise<unknown>]> = [
        ['invalid_key', (body) => store.put('../x.csv', body)],
        [
          'invalid_metadata',
          (body) => store.put(uploadKey(USER, newId()), body, { contentType: '' }),
        ],
        ['too_large', (body) => store.put(uploadKey(USER, newId()), body, { maxBytes: 2 })],
      ];
      for (const [code, refuse] of refusals) {
        const body = new PassThrough();
        body.write('a,b\n');
        expect((await blobErrorOf(refuse(body))).code).toBe(code);
        expect(body.destroyed, code).toBe(true);
      }
    });

    it('leaves nothing when the put is aborted or its stream is destroyed without an error', async () => {
      const under = await setup();
      const { store } = under;
      const aborted = resultKey(USER, newId());
      const controller = new AbortController();
      const endless = Readable.from(
        (async function* () {
          for (;;) {
            yield Buffer.alloc(64 * 1024, 0x7a);
            await sleep(2);
          }
        })(),
      );
      const putting = store.put(aborted, endless, { signal: controller.signal });
      setTimeout(() => controller.abort(), 30);
      await expect(putting).rejects.toMatchObject({ name: 'AbortError' });
      expect(await store.head(aborted)).toBeNull();

      // Destroyed once the store has taken its first chunk and asks for more, and never ended:
      // a timer instead raced the put on a loaded machine, which could store the whole body first.
      const destroyed = resultKey(USER, newId());
      let reads = 0;
      const source = new Readable({
        read() {
          if (reads++ === 0) this.push(Buffer.alloc(64 * 1024, 0x7a));
          else setImmediate(() => this.destroy());
        },
      });
      await expect(store.put(destroyed, source)).rejects.toThrow();
      expect(await store.head(destroyed)).toBeNull();

      const tooLate = new AbortController();
      tooLate.abort();
      await expect(store.put(aborted, 'x', { signal: tooLate.signal })).rejects.toMatchObject({
        name: 'AbortError',
      });
      expect(await store.head(aborted)).toBeNull();
      expect(await under.leftovers()).toEqual([]);
    });

    it('refuses a body over maxBytes with too_large and stores nothing', async () => {
      const under = await setup();
      const key = uploadKey(USER, newId());
      const error = await blobErrorOf(
        under.store.put(key, trickle(Buffer.alloc(300_000, 0x31)), { maxBytes: 200_000 }),
      );
      expect(error).toMatchObject({ code: 'too_large', retryable: false });
      expect(await under.store.head(key)).toBeNull();
      expect((await under.store.put(key, Buffer.alloc(200_000), { maxBytes: 200_000 })).bytes).toBe(
        200_000,
      );
      expect(await under.leftovers()).toEqual([]);
    });

    it('answers a missing key with a not_found rejection from get and null from head', async () => {
      const { store } = await setup();
      const key = uploadKey(USER, newId());
      expect(await blobErrorOf(store.get(key))).toMatchObject({
        code: 'not_found',
        retryable: false,
      });
      expect(await store.head(key)).toBeNull();
      // A key that is only a prefix of other keys is not an object either.
      await store.put(uploadKey(USER, newId()), 'x');
      const folder = `${userPrefix(USER)}uploads`;
      expect((await blobErrorOf(store.get(folder))).code).toBe('not_found');
      expect(await store.head(folder)).toBeNull();
    });

    it('deletes idempotently', async () => {
      const { store } = await setup();
      const key = resultKey(USER, newId());
      await store.delete(key);
      await store.put(key, 'a,b\n', { metadata: { rows: '1' } });
      await store.delete(key);
      expect(await store.head(key)).toBeNull();
      expect((await blobErrorOf(store.get(key))).code).toBe('not_found');
      await store.delete(key);
      // A new object under the same key does not inherit the deleted one's metadata.
      await store.put(key, 'c\n');
      expect(await store.head(key)).toMatchObject({ bytes: 2, metadata: {} });
    });

    it("lists and deletes by prefix, whole segments only, never touching another user's keys", async () => {
      const { store } = await setup();
      const mine = [uploadKey(USER, newId()), uploadKey(USER, newId()), resultKey(USER, newId())];
      const theirs = [uploadKey(OTHER, newId()), resultKey(OTHER, newId())];
      for (const key of [...mine, ...theirs]) await store.put(key, key);
      const myPrefix = userPrefix(USER);
      expect(await store.list(myPrefix)).toEqual([...mine].sort());
      expect(await store.list(`${myPrefix}uploads/`)).toEqual(mine.slice(0, 2).sort());
      expect(await store.list('users/nobody/')).toEqual([]);
      expect(await store.deletePrefix(myPrefix)).toBe(3);
      expect(await store.list(myPrefix)).toEqual([]);
      for (const key of mine) expect(await store.head(key)).toBeNull();
      expect(await store.list('users/')).toEqual([...theirs].sort());
      expect(await store.deletePrefix(myPrefix)).toBe(0);
    });

    it('refuses bad keys and prefixes before touching storage', async () => {
      const { store } = await setup();
      const badKeys = [
        '',
        '../escape.csv',
        'users/../../escape.csv',
        'users/a/..',
        '/etc/passwd',
        'users\\a\\b.csv',
        'users/a\0b.csv',
        'users//a.csv',
        'users/a/',
        'users/./a.csv',
        'users/a b.csv',
        'users/ü.csv',
        'users/a~meta.json',
        'users/a%2/b.csv',
        `users/${'a'.repeat(256)}.csv`,
      ];
      for (const key of badKeys) {
        for (const call of [
          () => store.put(key, 'x'),
          () => store.get(key),
          () => store.head(key),
          () => store.delete(key),
        ]) {
          expect(await blobErrorOf(call()), `key ${JSON.stringify(key)}`).toMatchObject({
            code: 'invalid_key',
            retryable: false,
          });
        }
      }
      for (const prefix of ['', '/', 'users', '../', 'users/../', 'users//', '/users/']) {
        for (const call of [() => store.list(prefix), () => store.deletePrefix(prefix)]) {
          const error = await blobErrorOf(call());
          expect(error.code, `prefix ${JSON.stringify(prefix)}`).toBe('invalid_key');
        }
      }
    });

    it('refuses content types and metadata that S3 could not store as given', async () => {
      const { store } = await setup();
      const key = uploadKey(USER, newId());
      const refused: PutOptions[] = [
        { contentType: 'text/csv; name="ü"' },
        { metadata: { 'Original-Name': 'x' } },
        { metadata: { name: 'file (ü).csv' } },
        { metadata: { big: 'x'.repeat(3000) } },
      ];
      for (const options of refused) {
        expect((await blobErrorOf(store.put(key, 'x', options))).code).toBe('invalid_metadata');
      }
      expect(await store.head(key)).toBeNull();
    });

    it('ends concurrent puts to the same key with exactly one whole version', async () => {
      const under = await setup();
      const key = resultKey(USER, newId());
      const versions = Array.from({ length: 8 }, (_, i) => Buffer.alloc(256 * 1024 + i, 0x41 + i));
      const results = await Promise.all(
        versions.map((data, i) =>
          under.store.put(key, trickle(data, 16 * 1024), { metadata: { version: String(i) } }),
        ),
      );
      expect(results.map((r) => r.bytes)).toEqual(versions.map((v) => v.length));
      const stored = await readAll(await under.store.get(key));
      const winner = versions.findIndex((v) => v.equals(stored));
      expect(winner).not.toBe(-1);
      expect((await under.store.head(key))?.bytes).toBe(versions[winner]!.length);
      expect(await under.store.list('users/')).toEqual([key]);
      expect(await under.leftovers()).toEqual([]);
    });

    describeRangeReads(setup);
  });
}
