/**
 * How a customer's risk moved since the previous prediction made with the same model: the
 * change of each scored row, found by matching customer ids (ignoring case) between this
 * prediction's rows index and the previous one's. Both indexes hold their ids sorted, so the
 * match is one merge pass: linear, with no string per id on the heap.
 */
import type { RowsIndex } from '../results/rows-index.js';

/** Change codes as stored in the rows index (u8 per row); 0: no id or not scored. */
export const CHANGE_CODES = {
  new: 1,
  newly_high_risk: 2,
  worsened: 3,
  improved: 4,
  unchanged: 5,
} as const;

export type CustomerChange = keyof typeof CHANGE_CODES;
export const CUSTOMER_CHANGES = [
  'new',
  'newly_high_risk',
  'worsened',
  'improved',
  'unchanged',
] as const satisfies readonly CustomerChange[];
// In code order: CHANGE_CODES numbers them 1.. in this same order.
const NAMES: readonly (CustomerChange | null)[] = [null, ...CUSTOMER_CHANGES];

export function changeName(code: number): CustomerChange | null {
  return NAMES[code] ?? null;
}

/** The previous probability in ten-thousandths, for a customer the previous prediction lacks. */
export const NO_PREVIOUS = 0xffff;

/**
 * Tier codes run 1 high, 2 medium, 3 low. Reaching high from a lower tier is its own class (the
 * one a manager acts on); any other move to a worse tier is worsened, to a better one improved.
 * Within a tier the tier alone decides: a probability drifting inside "medium" is unchanged.
 */
export function classify(tier: number, previousTier: number | undefined): number {
  if (previousTier === undefined) return CHANGE_CODES.new;
  if (tier === 1 && previousTier !== 1) return CHANGE_CODES.newly_high_risk;
  if (tier < previousTier) return CHANGE_CODES.worsened;
  if (tier > previousTier) return CHANGE_CODES.improved;
  return CHANGE_CODES.unchanged;
}

export interface ChangeCounts {
  /** The prediction compared with: the latest completed one before, with the same model. */
  previousPredictionId: string;
  new: number;
  newlyHighRisk: number;
  worsened: number;
  improved: number;
  unchanged: number;
}

/** The current rows' ids, sorted as a rows index holds them. */
export interface SortedIds {
  readonly rows: number;
  readonly idOrder: Uint32Array;
  readonly idStarts: Uint32Array;
  readonly idText: Uint8Array;
  readonly probabilities: Uint16Array;
  readonly tiers: Uint8Array;
}

export interface RowChanges {
  /** Per row: the previous prediction's probability for this customer, or NO_PREVIOUS. */
  previous: Uint16Array;
  /** Per row: a CHANGE_CODES value, 0 for a row without an id or a score. */
  changes: Uint8Array;
  counts: Omit<ChangeCounts, 'previousPredictionId'>;
}

/**
 * Matches every scored row with an id against the previous index. A customer listed twice in the
 * previous file is compared with its first scored row there; listed twice now, each row is.
 */
export function compareWithPrevious(current: SortedIds, previous: RowsIndex): RowChanges {
  const previousOut = new Uint16Array(current.rows).fill(NO_PREVIOUS);
  const changes = new Uint8Array(current.rows);
  const counts = { new: 0, newlyHighRisk: 0, worsened: 0, improved: 0, unchanged: 0 };
  const key = ['', 'new', 'newlyHighRisk', 'worsened', 'improved', 'unchanged'] as const;
  let j = 0;
  for (let k = 0; k < current.rows; k++) {
    const row = current.idOrder[k] as number;
    const start = current.idStarts[k] as number;
    const end = current.idStarts[k + 1] as number;
    const tier = current.tiers[row] as number;
    if (start === end || tier === 0) continue;
    // Both sides are sorted by the same byte order: move the previous side up to this id.
    while (j < previous.rows && compareSorted(current, k, previous, j) > 0) j++;
    let match = -1;
    if (j < previous.rows && compareSorted(current, k, previous, j) === 0) {
      // The first scored row among equal ids (they follow each other in the order).
      for (let m = j; m < previous.rows && compareSorted(current, k, previous, m) === 0; m++) {
        const candidate = previous.idOrder[m] as number;
        if ((previous.tiers[candidate] as number) !== 0) {
          match = candidate;
          break;
        }
      }
    }
    const code =
      match < 0 ? classify(tier, undefined) : classify(tier, previous.tiers[match] as number);
    if (match >= 0) previousOut[row] = previous.probabilities[match] as number;
    changes[row] = code;
    counts[key[code] as keyof typeof counts]++;
  }
  return { previous: previousOut, changes, counts };
}

/** Compares the k-th sorted id of `a` with the m-th of `b`, byte by byte. */
function compareSorted(a: SortedIds, k: number, b: SortedIds, m: number): number {
  const aStart = a.idStarts[k] as number;
  const aLength = (a.idStarts[k + 1] as number) - aStart;
  const bStart = b.idStarts[m] as number;
  const bLength = (b.idStarts[m + 1] as number) - bStart;
  const n = Math.min(aLength, bLength);
  for (let i = 0; i < n; i++) {
    const d = (a.idText[aStart + i] as number) - (b.idText[bStart + i] as number);
    if (d !== 0) return d;
  }
  return aLength - bLength;
}
