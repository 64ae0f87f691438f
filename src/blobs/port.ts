/**
 * The blob store port: whole objects under keys built by src/ids.ts, streamed in and out, named
 * without any vendor type so that the API and the worker run unchanged on local disk and on S3.
 */
import type { Readable } from 'node:stream';

export type BlobErrorCode =
  /** No object under the key. */
  | 'not_found'
  /** The key or prefix breaks the key syntax (see checkKeySyntax in src/ids.ts). */
  | 'invalid_key'
  /** Content type or metadata a backend cannot store as given. */
  | 'invalid_metadata'
  /** The body is larger than the put's maxBytes. */
  | 'too_large'
  /** A ranged read asks for bytes the object does not have (or an empty or negative range). */
  | 'invalid_range'
  /** The key collides with an existing prefix or object of another shape (file systems only). */
  | 'conflict'
  /** The store refuses access: a permission the operator has to fix. */
  | 'permission_denied'
  /** Out of disk space or quota. */
  | 'no_space'
  /** Too many open files or connections for now. */
  | 'busy'
  /** The storage did not answer in time. */
  | 'timeout'
  /** The storage failed to read or write (I/O error, 5xx, reset connection). */
  | 'io';

/**
 * Storage errors say whether retrying the same call can succeed, so callers decide on
 * `retryable` (a transient failure leaves the job for redelivery), never on the backend.
 */
export class BlobError extends Error {
  override name = 'BlobError';
  constructor(
    readonly code: BlobErrorCode,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type BlobMetadata = Readonly<Record<string, string>>;

export interface PutOptions {
  /** Printable ASCII, at most 255 characters. */
  readonly contentType?: string;
  /**
   * Keys of lower-case letters, digits and `-` (at most 64); values printable ASCII; at most
   * 2 KiB in all, as on S3. Encode anything else (a user's file name) with encodeURIComponent.
   */
  readonly metadata?: BlobMetadata;
  /** A larger body fails with `too_large` and leaves no object. */
  readonly maxBytes?: number;
  /** Aborting fails the put and leaves no object. */
  readonly signal?: AbortSignal;
}

export interface PutResult {
  readonly bytes: number;
  /** Hex SHA-256 of the stored bytes, computed while they were written. */
  readonly sha256: string;
}

export interface BlobHead {
  readonly bytes: number;
  readonly contentType?: string;
  readonly metadata: BlobMetadata;
  readonly lastModified: Date;
}

/** Differences between backends, stated once instead of `if (kind === ...)` across the code. */
export interface BlobStoreCapabilities {
  /** Processes on other machines see the same objects (false for a local directory). */
  readonly sharedAcrossMachines: boolean;
  /**
   * How to read many small ranges of one object: ranges closer than `coalesceGapBytes` are
   * worth one read, and `parallelReads` reads at once. A request to S3 costs tens of
   * milliseconds whatever its size; a read from disk costs little but the bytes.
   */
  readonly rangeReads: { readonly coalesceGapBytes: number; readonly parallelReads: number };
}

export interface BlobStore {
  readonly capabilities: BlobStoreCapabilities;

  /**
   * Stores the whole body under the key, replacing any object there. Readers see the old object or
   * the new one, never a part. When the body fails, is aborted or is too large, the put rejects
   * and nothing is stored (an error of the caller's own stream is rethrown as it is). A stream
   * body is consumed; when the put fails, it is destroyed.
   */
  put(key: string, body: Readable | Buffer | string, options?: PutOptions): Promise<PutResult>;
  /**
   * Opens the object for reading. Resolves only once the object is known to exist, so a missing
   * key rejects here with `not_found` rather than as a stream error. The stream reads the version
   * that existed when get resolved, even if the key is overwritten meanwhile.
   */
  get(key: string): Promise<Readable>;
  /**
   * Bytes `start` (inclusive) to `endExclusive` of the object, whole or not at all: integers with
   * 0 <= start < endExclusive <= size, else `invalid_range`; a missing key is `not_found`. For
   * reading a few records of a large object without streaming all of it.
   */
  getRange(key: string, start: number, endExclusive: number): Promise<Buffer>;
  /** Size, content type and metadata, or null when there is no object under the key. */
  head(key: string): Promise<BlobHead | null>;
  /** Removes the object; removing a missing object succeeds. */
  delete(key: string): Promise<void>;
  /**
   * Removes every object whose key starts with the prefix (whole segments ending in `/`) and
   * resolves with how many there were.
   */
  deletePrefix(prefix: string): Promise<number>;
  /** Every key under the prefix, sorted (for orphan checks; not paginated). */
  list(prefix: string): Promise<string[]>;
  /** Releases connections, where the backend holds any. */
  close?(): void;
}
