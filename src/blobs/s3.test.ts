import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAws, startLocalAws } from '../aws/test-support/local-aws.js';
import { newId, resultKey, rowsIndexKey, uploadKey } from '../ids.js';
import { describeBlobStoreContract } from './blobs.contract.js';
import { S3BlobStore, type S3BlobStoreOptions } from './s3.js';
import { type S3Traffic, startS3Traffic } from './test-support/s3-traffic.js';

const MIB = 1024 * 1024;
const USER = 'auth0|5f7c8ec7c33c6c004bbafe82';

let aws: LocalAws;
let traffic: S3Traffic;
let admin: S3Client;

beforeAll(async () => {
  aws = await startLocalAws();
  traffic = await startS3Traffic(aws.endpoint);
  admin = new S3Client({
    endpoint: aws.endpoint,
    region: aws.region,
    credentials: aws.credentials,
    forcePathStyle: true,
  });
});
afterAll(async () => {
  admin.destroy();
  await traffic.stop();
  await aws.stop();
});

async function createBucket(): Promise<string> {
  const bucket = `churnline-test-${randomUUID().slice(0, 8)}`;
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/** Every key in the bucket, as S3 holds it (with the store's prefix). */
async function rawKeys(bucket: string): Promise<string[]> {
  const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listed.Contents ?? []).map((object) => object.Key ?? '');
}

async function deleteBucket(bucket: string): Promise<void> {
  const keys = await rawKeys(bucket);
  if (keys.length > 0) {
    await admin.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: keys.map((Key) => ({ Key })) },
      }),
    );
  }
  await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
}

function storeOptions(bucket: string, extra: Partial<S3BlobStoreOptions> = {}): S3BlobStoreOptions {
  return {
    bucket,
    prefix: 'churnline/',
    endpoint: traffic.endpoint,
    forcePathStyle: true,
    region: aws.region,
    credentials: aws.credentials,
    // S3's minimum part size, so the contract's multi-megabyte bodies take the multipart path.
    partSizeBytes: 5 * MIB,
    ...extra,
  };
}

describeBlobStoreContract('s3 (fauxqs)', async () => {
  const bucket = await createBucket();
  const store = new S3BlobStore(storeOptions(bucket));
  return {
    store,
    leftovers: async () => traffic.openUploads(bucket),
    cleanup: async () => {
      store.close();
      await deleteBucket(bucket);
    },
  };
});

describe('S3BlobStore', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });
  async function open(extra: Partial<S3BlobStoreOptions> = {}) {
    const bucket = await createBucket();
    const store = new S3BlobStore(storeOptions(bucket, extra));
    cleanups.push(async () => {
      store.close();
      await deleteBucket(bucket);
    });
    return { store, bucket };
  }

  /** 2.5 parts of data, then a failure: the upload is multipart by the time the body fails. */
  function failingAfterTwoParts(error: Error): Readable {
    return Readable.from(
      (async function* () {
        for (let i = 0; i < 10; i++) yield Buffer.alloc(MIB, 0x61 + i);
        await new Promise((resolve) => setTimeout(resolve, 50));
        yield Buffer.alloc(MIB / 2, 0x7a);
        throw error;
      })(),
    );
  }

  it('keeps objects under the key prefix in the bucket and hides it from callers', async () => {
    const { store, bucket } = await open();
    const key = uploadKey(USER, newId());
    await store.put(key, 'a,b\n');
    expect(await rawKeys(bucket)).toEqual([`churnline/${key}`]);
    expect(await store.list('users/')).toEqual([key]);
  });

  it('requests SSE-S3 on every write by default, and SSE-KMS with the key when configured', async () => {
    const first = traffic.writes.length;
    const { store, bucket } = await open();
    await store.put(resultKey(USER, newId()), 'small');
    await store.put(resultKey(USER, newId()), Buffer.alloc(6 * MIB, 1));
    const kms = await open({ serverSideEncryption: { kind: 'aws:kms', keyId: 'alias/churnline' } });
    await kms.store.put(resultKey(USER, newId()), Buffer.alloc(6 * MIB, 2));
    await kms.store.put(resultKey(USER, newId()), 'small');
    const writes = traffic.writes.slice(first);
    const of = (b: string) => writes.filter((w) => w.path.startsWith(`/${b}/`));
    expect(
      of(bucket)
        .map((w) => w.action)
        .sort(),
    ).toEqual(['CreateMultipartUpload', 'PutObject']);
    for (const write of of(bucket)) expect(write.serverSideEncryption).toBe('AES256');
    expect(of(kms.bucket)).toHaveLength(2);
    for (const write of of(kms.bucket)) {
      expect(write).toMatchObject({ serverSideEncryption: 'aws:kms', kmsKeyId: 'alias/churnline' });
    }
  });

  it('tags results and their rows indexes, and only those, for the expiry rule, on single and multipart puts', async () => {
    const first = traffic.writes.length;
    const { store, bucket } = await open();
    const results = [resultKey(USER, newId()), resultKey(USER, newId())];
    await store.put(results[0]!, 'small');
    await store.put(results[1]!, Buffer.alloc(6 * MIB, 1));
    await store.put(rowsIndexKey(USER, newId()), 'an index');
    await store.put(uploadKey(USER, newId()), 'an upload');
    const tagged = traffic.writes
      .slice(first)
      .filter((write) => write.path.startsWith(`/${bucket}/`))
      .map((write) => [write.path.split('/').at(-2), write.tagging]);
    expect(tagged.sort()).toEqual([
      ['results', 'churnline%3Akind=result'],
      ['results', 'churnline%3Akind=result'],
      ['results', 'churnline%3Akind=result'],
      ['uploads', undefined],
    ]);
  });

  it('aborts the multipart upload when the body fails after parts were uploaded', async () => {
    const { store, bucket } = await open();
    const key = uploadKey(USER, newId());
    const dropped = new Error('client went away');
    const started = traffic.writes.length;
    await expect(store.put(key, failingAfterTwoParts(dropped))).rejects.toBe(dropped);
    expect(traffic.writes.slice(started).map((w) => w.action)).toContain('CreateMultipartUpload');
    expect(traffic.openUploads(bucket)).toEqual([]);
    expect(await rawKeys(bucket)).toEqual([]);
  });

  it('stops at maxBytes while streaming a multipart upload, and leaves nothing', async () => {
    const { store, bucket } = await open();
    const key = uploadKey(USER, newId());
    const body = Readable.from(
      (async function* () {
        for (let i = 0; i < 40; i++) yield Buffer.alloc(MIB, 0x30);
      })(),
    );
    await expect(store.put(key, body, { maxBytes: 12 * MIB })).rejects.toMatchObject({
      code: 'too_large',
      retryable: false,
    });
    expect(body.destroyed).toBe(true);
    expect(traffic.openUploads(bucket)).toEqual([]);
    expect(await rawKeys(bucket)).toEqual([]);
  });

  it('says a missing bucket is a configuration problem and an unreachable server is transient', async () => {
    const missing = new S3BlobStore(storeOptions('no-such-bucket'));
    await expect(missing.put(uploadKey(USER, newId()), 'x')).rejects.toMatchObject({
      code: 'io',
      retryable: false,
    });
    missing.close();
    const unreachable = new S3BlobStore({
      ...storeOptions('any'),
      endpoint: 'http://127.0.0.1:9',
      maxAttempts: 1,
    });
    await expect(unreachable.head(uploadKey(USER, newId()))).rejects.toMatchObject({
      retryable: true,
    });
    unreachable.close();
  });

  it('sees an unfinished multipart upload as a leftover (so the leftover checks can fail)', async () => {
    const { bucket } = await open();
    const client = new S3Client({
      endpoint: traffic.endpoint,
      region: aws.region,
      credentials: aws.credentials,
      forcePathStyle: true,
    });
    const { UploadId } = await client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'churnline/users/x/open.csv' }),
    );
    expect(traffic.openUploads(bucket)).toEqual([
      `/${bucket}/churnline/users/x/open.csv (upload ${UploadId})`,
    ]);
    await client.send(
      new AbortMultipartUploadCommand({
        Bucket: bucket,
        Key: 'churnline/users/x/open.csv',
        UploadId,
      }),
    );
    client.destroy();
    expect(traffic.openUploads(bucket)).toEqual([]);
  });

  it('refuses a bad prefix or part size when constructed', () => {
    expect(() => new S3BlobStore(storeOptions('b', { prefix: 'no-slash' }))).toThrow(/prefix/);
    expect(() => new S3BlobStore(storeOptions('b', { partSizeBytes: MIB }))).toThrow(/5 MiB/);
  });
});
