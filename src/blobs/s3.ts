/**
 * BlobStore on Amazon S3 (or an S3-compatible server). Puts stream through lib-storage's Upload
 * (one PutObject for a small body, a multipart upload for a large one), hashing and counting on
 * the way; a put that fails for any reason aborts its multipart upload, so no parts are left to
 * bill. Every put asks for server-side encryption, and results carry the tag the bucket's
 * expiry rule selects on. The AWS SDK is imported here and nowhere else,
 * and the composition root imports this module only when BLOBS=s3.
 */
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type PutObjectCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { type AwsClientOptions, sdkClientConfig } from '../aws/client-options.js';
import { checkKeyPrefixSyntax, isResultObjectKey } from '../ids.js';
import {
  assertKey,
  assertPrefix,
  assertPutOptions,
  assertRange,
  BodyMeter,
  bodyChunks,
  discardBody,
  rangePastEnd,
} from './checks.js';
import {
  BlobError,
  type BlobHead,
  type BlobStore,
  type PutOptions,
  type PutResult,
} from './port.js';
import { s3ErrorToBlobError } from './s3-errors.js';

export type ServerSideEncryption =
  | { readonly kind: 'AES256' }
  /** Without keyId, S3 uses the account's AWS managed key (aws/s3). */
  | { readonly kind: 'aws:kms'; readonly keyId?: string };

export interface S3BlobStoreOptions extends AwsClientOptions {
  readonly bucket: string;
  /** Prepended to every key, e.g. `churnline/`; empty or whole segments ending in `/`. */
  readonly prefix?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need. */
  readonly forcePathStyle?: boolean;
  /** Requested on every put; default SSE-S3 (AES256). */
  readonly serverSideEncryption?: ServerSideEncryption;
  /** Size of each part of a multipart upload (at least 5 MiB, S3's minimum); default 8 MiB. */
  readonly partSizeBytes?: number;
  /** Parts uploaded at once per put; default 4. Memory per put is about this × partSizeBytes. */
  readonly partsInParallel?: number;
}

/**
 * Results and their rows indexes are tagged so that the bucket's lifecycle rule
 * (infra/lib/storage.ts) can expire them: a lifecycle filter matches only a leading prefix, and
 * results sit next to uploads.
 */
export const RESULT_TAG = Object.freeze({ key: 'churnline:kind', value: 'result' });

const MIB = 1024 * 1024;
const MIN_PART_BYTES = 5 * MIB;
/** A socket silent this long fails the attempt (retryable): a stalled part must not hang a job. */
const REQUEST_TIMEOUT_MS = 60_000;
/** DeleteObjects takes at most this many keys per request. */
const DELETE_BATCH = 1000;

const resultTagging = new URLSearchParams([[RESULT_TAG.key, RESULT_TAG.value]]).toString();

export class S3BlobStore implements BlobStore {
  readonly capabilities = Object.freeze({
    sharedAcrossMachines: true,
    rangeReads: { coalesceGapBytes: 256 * 1024, parallelReads: 32 },
  });
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly encryption: Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId'>;
  private readonly partSizeBytes: number;
  private readonly partsInParallel: number;

  constructor(options: S3BlobStoreOptions) {
    if (!options.bucket) {
      throw new BlobError('invalid_key', 'S3BlobStore needs a bucket name (S3_BUCKET).', false);
    }
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    const prefixCheck = checkKeyPrefixSyntax(this.prefix);
    if (this.prefix !== '' && !prefixCheck.ok) {
      throw new BlobError(
        'invalid_key',
        `S3 key prefix ${JSON.stringify(this.prefix)} is invalid: ${prefixCheck.reason}.`,
        false,
      );
    }
    this.partSizeBytes = options.partSizeBytes ?? 8 * MIB;
    if (!Number.isInteger(this.partSizeBytes) || this.partSizeBytes < MIN_PART_BYTES) {
      throw new BlobError('invalid_metadata', 'partSizeBytes must be at least 5 MiB.', false);
    }
    this.partsInParallel = options.partsInParallel ?? 4;
    const sse = options.serverSideEncryption ?? { kind: 'AES256' };
    this.encryption =
      sse.kind === 'AES256'
        ? { ServerSideEncryption: 'AES256' }
        : {
            ServerSideEncryption: 'aws:kms',
            ...(sse.keyId === undefined ? {} : { SSEKMSKeyId: sse.keyId }),
          };
    this.client = new S3Client({
      ...sdkClientConfig(options, REQUEST_TIMEOUT_MS),
      ...(options.forcePathStyle === undefined ? {} : { forcePathStyle: options.forcePathStyle }),
    });
  }

  private objectKey(key: string): string {
    assertKey(key);
    return `${this.prefix}${key}`;
  }

  async put(
    key: string,
    body: Readable | Buffer | string,
    options: PutOptions = {},
  ): Promise<PutResult> {
    try {
      return await this.upload(key, body, options);
    } catch (error) {
      discardBody(body);
      throw error;
    }
  }

  private async upload(
    key: string,
    body: Readable | Buffer | string,
    options: PutOptions,
  ): Promise<PutResult> {
    const objectKey = this.objectKey(key);
    assertPutOptions(options);
    const chunks = bodyChunks(body, options.signal);
    const meter = new BodyMeter(options.maxBytes);
    // The body's own failure (and too_large, and an abort) is what the caller must see, not the
    // error lib-storage wraps around it after aborting the multipart upload.
    let bodyFailure: { error: unknown } | undefined;
    const metered = Readable.from(
      (async function* () {
        try {
          for await (const chunk of chunks) {
            meter.add(chunk);
            yield chunk;
          }
        } catch (error) {
          bodyFailure = { error };
          throw error;
        }
      })(),
      { objectMode: false },
    );
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: objectKey,
        Body: metered,
        ...(options.contentType === undefined ? {} : { ContentType: options.contentType }),
        Metadata: { ...options.metadata },
        ...this.encryption,
        // Sent with PutObject or CreateMultipartUpload itself, so a stored result is never
        // untagged (a separate PutObjectTagging could be lost to a crash).
        ...(isResultObjectKey(key) ? { Tagging: resultTagging } : {}),
      },
      partSize: this.partSizeBytes,
      queueSize: this.partsInParallel,
      // On any failure lib-storage sends AbortMultipartUpload before done() rejects.
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      if (bodyFailure) throw bodyFailure.error;
      throw s3ErrorToBlobError(error, key, 'upload');
    }
    return meter.result();
  }

  async get(key: string): Promise<Readable> {
    const objectKey = this.objectKey(key);
    let stream: AsyncIterable<Uint8Array>;
    try {
      const output = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }),
      );
      // In Node the SDK's body is an http.IncomingMessage: a Readable of this one version.
      stream = output.Body as unknown as AsyncIterable<Uint8Array>;
    } catch (error) {
      throw s3ErrorToBlobError(error, key, 'GetObject');
    }
    // Read errors reach the caller as BlobErrors too, so that it can decide on `retryable`.
    return Readable.from(
      (async function* () {
        try {
          for await (const chunk of stream) {
            yield Buffer.isBuffer(chunk)
              ? chunk
              : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          }
        } catch (error) {
          throw s3ErrorToBlobError(error, key, 'GetObject (reading)');
        }
      })(),
      { objectMode: false },
    );
  }

  async getRange(key: string, start: number, endExclusive: number): Promise<Buffer> {
    const objectKey = this.objectKey(key);
    assertRange(key, start, endExclusive);
    try {
      const output = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          Range: `bytes=${start}-${endExclusive - 1}`,
        }),
      );
      const bytes = Buffer.from((await output.Body?.transformToByteArray()) ?? []);
      // S3 answers a range that starts inside the object but ends past it with what there is.
      if (bytes.length !== endExclusive - start) {
        const size = Number(
          /\/(\d+)$/.exec(output.ContentRange ?? '')?.[1] ?? start + bytes.length,
        );
        throw rangePastEnd(key, endExclusive, size);
      }
      return bytes;
    } catch (error) {
      throw s3ErrorToBlobError(error, key, 'GetObject (range)');
    }
  }

  async head(key: string): Promise<BlobHead | null> {
    const objectKey = this.objectKey(key);
    try {
      const output = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }),
      );
      return {
        bytes: output.ContentLength ?? 0,
        ...(output.ContentType === undefined ? {} : { contentType: output.ContentType }),
        metadata: { ...output.Metadata },
        lastModified: output.LastModified ?? new Date(0),
      };
    } catch (error) {
      const mapped = s3ErrorToBlobError(error, key, 'HeadObject');
      if (mapped.code === 'not_found') return null;
      throw mapped;
    }
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.objectKey(key);
    try {
      // S3 answers 204 for a missing key too: deleting is idempotent.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }));
    } catch (error) {
      throw s3ErrorToBlobError(error, key, 'DeleteObject');
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = await this.list(prefix);
    for (let start = 0; start < keys.length; start += DELETE_BATCH) {
      const batch = keys.slice(start, start + DELETE_BATCH);
      let errors: Array<{ Key?: string | undefined; Code?: string | undefined }>;
      try {
        const output = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((key) => ({ Key: `${this.prefix}${key}` })), Quiet: true },
          }),
        );
        errors = output.Errors ?? [];
      } catch (error) {
        throw s3ErrorToBlobError(error, prefix, 'DeleteObjects');
      }
      if (errors.length > 0) {
        const first = errors[0];
        throw new BlobError(
          first?.Code === 'AccessDenied' ? 'permission_denied' : 'io',
          `S3 could not delete ${errors.length} of the objects under ${JSON.stringify(prefix)} (first: ${first?.Key}: ${first?.Code}).`,
          first?.Code !== 'AccessDenied',
        );
      }
    }
    return keys.length;
  }

  async list(prefix: string): Promise<string[]> {
    assertPrefix(prefix);
    const keys: string[] = [];
    let continuationToken: string | undefined;
    do {
      let page: { Contents?: Array<{ Key?: string | undefined }> | undefined; next?: string };
      try {
        const output = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: `${this.prefix}${prefix}`,
            ...(continuationToken === undefined ? {} : { ContinuationToken: continuationToken }),
          }),
        );
        page = {
          Contents: output.Contents,
          ...(output.IsTruncated && output.NextContinuationToken
            ? { next: output.NextContinuationToken }
            : {}),
        };
      } catch (error) {
        throw s3ErrorToBlobError(error, prefix, 'ListObjectsV2');
      }
      for (const object of page.Contents ?? []) {
        if (object.Key) keys.push(object.Key.slice(this.prefix.length));
      }
      continuationToken = page.next;
    } while (continuationToken !== undefined);
    return keys.sort();
  }

  /** Closes the client's sockets; the store is unusable afterwards. */
  close(): void {
    this.client.destroy();
  }
}
