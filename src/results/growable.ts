/** Append-only typed arrays that double as they fill, for building columns of unknown length. */
type TypedArray = Uint8Array | Uint16Array | Uint32Array | Float64Array;

export class Growable<T extends TypedArray> {
  private data: T;
  length = 0;

  constructor(private readonly make: (capacity: number) => T) {
    this.data = make(1024);
  }

  /** Room for `more` further elements. */
  reserve(more: number): T {
    if (this.length + more > this.data.length) {
      const grown = this.make(Math.max(this.data.length * 2, this.length + more));
      grown.set(this.data.subarray(0, this.length));
      this.data = grown;
    }
    return this.data;
  }

  push(value: number): void {
    this.reserve(1)[this.length++] = value;
  }

  append(values: ArrayLike<number>): void {
    this.reserve(values.length).set(values, this.length);
    this.length += values.length;
  }

  /** The filled part (a view: valid until the next push). */
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
}
