/**
 * Checks and body handling shared by every BlobStore adapter, so that all of them refuse the same
 * keys and metadata and count and hash bodies the same way.
 */
import { createHash, type Hash } from 'node:crypto';
import { addAbortSignal, type Readable } from 'node:stream';
import { checkKeyPrefixSyntax, checkKeySyntax } from '../ids.js';
import { BlobError, type PutOptions, type PutResult } from './port.js';

export function assertKey(key: string): void {
  const check = checkKeySyntax(key);
  if (!check.ok)
    throw new BlobError('invalid_key', `Refused ${JSON.stringify(key)}: ${check.reason}.`, false);
}

export function assertPrefix(prefix: string): void {
  const check = checkKeyPrefixSyntax(prefix);
  if (!check.ok) {
    throw new BlobError(
      'invalid_key',
      `Refused prefix ${JSON.stringify(prefix)}: ${check.reason}.`,
      false,
    );
  }
}

/** Refuses a range that no object could satisfy, before any storage call. */
export function assertRange(key: string, start: number, endExclusive: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(endExclusive) || start < 0) {
    throw new BlobError(
      'invalid_range',
      `Refused range ${start}-${endExclusive} of ${JSON.stringify(key)}: offsets must be whole numbers from 0.`,
      false,
    );
  }
  if (endExclusive <= start) {
    throw new BlobError(
      'invalid_range',
      `Refused range ${start}-${endExclusive} of ${JSON.stringify(key)}: the end must be after the start.`,
      false,
    );
  }
}

/** The range reaches past the object's end. */
export function rangePastEnd(key: string, endExclusive: number, size: number): BlobError {
  return new BlobError(
    'invalid_range',
    `Range ending at byte ${endExclusive} of ${JSON.stringify(key)} is past its end (${size} bytes).`,
    false,
  );
}

const METADATA_KEY = /^[a-z0-9][a-z0-9-]{0,63}$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/** S3's limit on user metadata (keys and values together). */
const MAX_METADATA_BYTES = 2048;

/** Refuses what S3 could not store faithfully, so that the local adapter does not accept more. */
export function assertPutOptions(options: PutOptions): void {
  const { contentType, metadata = {}, maxBytes } = options;
  if (
    contentType !== undefined &&
    (contentType.length === 0 || contentType.length > 255 || !PRINTABLE_ASCII.test(contentType))
  ) {
    throw new BlobError(
      'invalid_metadata',
      'Content type must be 1-255 printable ASCII characters.',
      false,
    );
  }
  let total = 0;
  for (const [name, value] of Object.entries(metadata)) {
    if (!METADATA_KEY.test(name)) {
      throw new BlobError(
        'invalid_metadata',
        `Metadata key ${JSON.stringify(name)} must be 1-64 lower-case letters, digits or "-".`,
        false,
      );
    }
    if (typeof value !== 'string' || !PRINTABLE_ASCII.test(value)) {
      throw new BlobError(
        'invalid_metadata',
        `Metadata value of ${JSON.stringify(name)} must be printable ASCII (encode it with encodeURIComponent).`,
        false,
      );
    }
    total += name.length + value.length;
  }
  if (total > MAX_METADATA_BYTES) {
    throw new BlobError('invalid_metadata', `Metadata exceeds ${MAX_METADATA_BYTES} bytes.`, false);
  }
  if (maxBytes !== undefined && !(Number.isInteger(maxBytes) && maxBytes >= 0)) {
    throw new BlobError('invalid_metadata', 'maxBytes must be a whole number of bytes.', false);
  }
}

/** Counts and hashes a body as it passes, and stops it at maxBytes. */
export class BodyMeter {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;

  constructor(private readonly maxBytes = Number.POSITIVE_INFINITY) {}

  /** Throws `too_large` once the body passes maxBytes; the caller then discards what it wrote. */
  add(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      throw new BlobError(
        'too_large',
        `The body is larger than the limit of ${this.maxBytes.toLocaleString('en-US')} bytes.`,
        false,
      );
    }
    this.hash.update(chunk);
  }

  result(): PutResult {
    return { bytes: this.bytes, sha256: this.hash.digest('hex') };
  }
}

const ignore = () => undefined;

/**
 * The body as Buffers. A stream is tied to the signal (aborting destroys it, which ends the
 * iteration with an AbortError); an already aborted signal fails before anything is read.
 */
export function bodyChunks(
  body: Readable | Buffer | string,
  signal?: AbortSignal,
): AsyncIterable<Buffer> {
  signal?.throwIfAborted();
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    const buffer = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    return (async function* () {
      yield buffer;
    })();
  }
  // The store may wait on storage before it reads the first chunk; an error the stream emits
  // meanwhile must not go unhandled (and crash the process): iterating rethrows it anyway.
  body.on('error', ignore);
  const stream = signal ? addAbortSignal(signal, body) : body;
  return (async function* () {
    for await (const chunk of stream as AsyncIterable<Buffer | Uint8Array | string>) {
      if (Buffer.isBuffer(chunk)) yield chunk;
      else if (typeof chunk === 'string') yield Buffer.from(chunk, 'utf8');
      else yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
  })();
}

/** A stream body of a failed put is of no further use: destroying it releases its source. */
export function discardBody(body: Readable | Buffer | string): void {
  if (typeof body !== 'string' && !Buffer.isBuffer(body)) body.destroy();
}
