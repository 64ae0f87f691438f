/**
 * Sorting of customer ids for prefix search: byte-wise (UTF-8, so code point order), ties in row
 * order. An MSD radix sort over the packed bytes: linear in the bytes that tell ids apart, with
 * no string per id on the heap, which matters at a million ids.
 */

/** Buckets smaller than this are finished by insertion sort. */
const SMALL = 24;

/**
 * Row numbers 0..n-1 ordered by their id: `text` holds id i at [starts[i], starts[i + 1]).
 * Stable: equal ids keep row order.
 */
export function sortIds(text: Uint8Array, starts: Uint32Array): Uint32Array {
  const n = starts.length - 1;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const scratch = new Uint32Array(n);
  // Byte at `depth` of row r, plus one; 0 once the id has ended (shorter ids sort first).
  const key = (row: number, depth: number): number => {
    const at = (starts[row] as number) + depth;
    return at < (starts[row + 1] as number) ? (text[at] as number) + 1 : 0;
  };
  const stack: number[] = [0, n, 0];
  const counts = new Uint32Array(258);
  while (stack.length > 0) {
    const depth = stack.pop() as number;
    const hi = stack.pop() as number;
    const lo = stack.pop() as number;
    if (hi - lo < SMALL) {
      insertionSort(order, lo, hi, depth, text, starts);
      continue;
    }
    counts.fill(0);
    for (let i = lo; i < hi; i++) (counts[key(order[i] as number, depth) + 1] as number)++;
    for (let b = 1; b < 258; b++) (counts[b] as number) += counts[b - 1] as number;
    // counts[b] is now where bucket b starts, relative to lo.
    const bucketStarts = counts.slice(0, 257);
    for (let i = lo; i < hi; i++) {
      const row = order[i] as number;
      scratch[lo + (counts[key(row, depth)] as number)++] = row;
    }
    order.set(scratch.subarray(lo, hi), lo);
    // Bucket 0 holds ids that ended here: all equal, already in row order.
    for (let b = 1; b < 257; b++) {
      const start = lo + (bucketStarts[b] as number);
      const end = b === 256 ? hi : lo + (bucketStarts[b + 1] as number);
      if (end - start > 1) stack.push(start, end, depth + 1);
    }
  }
  return order;
}

function insertionSort(
  order: Uint32Array,
  lo: number,
  hi: number,
  depth: number,
  text: Uint8Array,
  starts: Uint32Array,
): void {
  for (let i = lo + 1; i < hi; i++) {
    const row = order[i] as number;
    let j = i - 1;
    while (j >= lo && compareFrom(text, starts, order[j] as number, row, depth) > 0) {
      order[j + 1] = order[j] as number;
      j--;
    }
    order[j + 1] = row;
  }
}

/** Compares the ids of rows a and b from byte `depth` on (the bytes before are equal). */
function compareFrom(
  text: Uint8Array,
  starts: Uint32Array,
  a: number,
  b: number,
  depth: number,
): number {
  const aEnd = starts[a + 1] as number;
  const bEnd = starts[b + 1] as number;
  let i = (starts[a] as number) + depth;
  let j = (starts[b] as number) + depth;
  for (; i < aEnd && j < bEnd; i++, j++) {
    const d = (text[i] as number) - (text[j] as number);
    if (d !== 0) return d;
  }
  return aEnd - i - (bEnd - j);
}
