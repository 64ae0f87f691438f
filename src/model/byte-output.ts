/**
 * A growable UTF-8 byte buffer that output rows are written into. Scoring a million rows by
 * concatenating strings made a cons-string tree per chunk that stayed alive (and was copied by
 * the garbage collector) until it was flattened and encoded at the end; writing bytes into one
 * reused buffer keeps nothing per row alive and skips the encoding pass.
 */
const encoder = new TextEncoder();

/** Copies shorter than this go byte by byte: cheaper than creating a subarray for `set`. */
const SHORT_COPY = 64;

export class ByteOutput {
  private buffer: Uint8Array<ArrayBuffer>;
  /** Bytes written so far. */
  length = 0;

  constructor(initialBytes = 1 << 16) {
    this.buffer = new Uint8Array(initialBytes);
  }

  private reserve(bytes: number): void {
    const needed = this.length + bytes;
    if (needed <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(needed, this.buffer.length * 2));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  /** One byte (an ASCII character code). */
  byte(code: number): void {
    this.reserve(1);
    this.buffer[this.length++] = code;
  }

  /** `text` as UTF-8. ASCII, nearly all of a customer export, is copied by a plain loop. */
  text(text: string): void {
    const count = text.length;
    this.reserve(count);
    const buffer = this.buffer;
    let at = this.length;
    for (let i = 0; i < count; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) {
        this.length = at;
        this.utf8(text, i);
        return;
      }
      buffer[at++] = code;
    }
    this.length = at;
  }

  /** The rest of `text` from `from` (not inside a surrogate pair: all before it was ASCII). */
  private utf8(text: string, from: number): void {
    const rest = text.slice(from);
    // At most 3 bytes per UTF-16 unit.
    this.reserve(rest.length * 3);
    const { written } = encoder.encodeInto(rest, this.buffer.subarray(this.length));
    this.length += written;
  }

  /** Bytes already encoded (a cached phrase, say). */
  bytes(bytes: Uint8Array): void {
    const count = bytes.length;
    this.reserve(count);
    if (count >= SHORT_COPY) {
      this.buffer.set(bytes, this.length);
      this.length += count;
      return;
    }
    const buffer = this.buffer;
    let at = this.length;
    for (let i = 0; i < count; i++) buffer[at++] = bytes[i] as number;
    this.length = at;
  }

  /** Forgets what was written (after a failed chunk, say). */
  clear(): void {
    this.length = 0;
  }

  /** `source[start, end)`. */
  copy(source: Uint8Array, start: number, end: number): void {
    const count = end - start;
    this.reserve(count);
    this.buffer.set(source.subarray(start, end), this.length);
    this.length += count;
  }

  /** A copy of what was written (its own ArrayBuffer, so it can be transferred); then empty. */
  take(): Uint8Array<ArrayBuffer> {
    const taken = this.buffer.slice(0, this.length);
    this.length = 0;
    return taken;
  }
}

/** `text` as UTF-8 bytes, for phrases that are cached and written many times. */
export function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}
