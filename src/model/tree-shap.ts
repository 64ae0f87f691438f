/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018, Algorithm 2, as implemented in the
 * shap package's tree_shap.h): per-feature Shapley values of one row's logit in polynomial time,
 * where "feature unknown" means averaging over both children in proportion to their training
 * cover. The values and the expected value sum to the logit, so reasons can be built from them.
 */
import { childFor, type GbdtModel, type GbdtTree } from './gbdt.js';

/**
 * The paths of every recursion level live in one set of arrays: the path at depth d starts
 * after the path of its caller. Module-level and grown on demand, so steady-state calls never
 * allocate; JavaScript is single-threaded and treeShap never re-enters itself.
 */
let pathFeature = new Int32Array(0);
let pathZero = new Float64Array(0);
let pathOne = new Float64Array(0);
let pathWeight = new Float64Array(0);
/** reciprocal[k] = 1 / k: the recurrences divide by small integers, and multiplying is faster. */
let reciprocal = new Float64Array(0);

function reserveScratch(tree: GbdtTree): void {
  // A path holds at most one element per split plus the root's; the levels nest.
  const longest = (tree.feature.length - 1) / 2 + 2;
  const needed = ((longest + 1) * (longest + 2)) / 2;
  if (pathFeature.length >= needed) return;
  pathFeature = new Int32Array(needed);
  pathZero = new Float64Array(needed);
  pathOne = new Float64Array(needed);
  pathWeight = new Float64Array(needed);
  reciprocal = Float64Array.from({ length: longest + 2 }, (_, k) => 1 / k);
}

/** Adds the split on `feature` to the path at `start` (currently `depth` long, plus the root). */
function extendPath(start: number, depth: number, zero: number, one: number, feature: number) {
  pathFeature[start + depth] = feature;
  pathZero[start + depth] = zero;
  pathOne[start + depth] = one;
  pathWeight[start + depth] = depth === 0 ? 1 : 0;
  const scale = reciprocal[depth + 1] as number;
  for (let i = depth - 1; i >= 0; i--) {
    const weight = (pathWeight[start + i] as number) * scale;
    if (one !== 0) {
      pathWeight[start + i + 1] = (pathWeight[start + i + 1] as number) + weight * (i + 1);
    }
    pathWeight[start + i] = zero * weight * (depth - i);
  }
}

/** Removes element `index` from the path, undoing its extension. */
function unwindPath(start: number, depth: number, index: number): void {
  const one = pathOne[start + index] as number;
  const zero = pathZero[start + index] as number;
  let next = pathWeight[start + depth] as number;
  for (let i = depth - 1; i >= 0; i--) {
    const weight = pathWeight[start + i] as number;
    if (one !== 0) {
      pathWeight[start + i] = (next * (depth + 1)) / ((i + 1) * one);
      next = weight - ((pathWeight[start + i] as number) * zero * (depth - i)) / (depth + 1);
    } else {
      pathWeight[start + i] = (weight * (depth + 1)) / (zero * (depth - i));
    }
  }
  for (let i = index; i < depth; i++) {
    pathFeature[start + i] = pathFeature[start + i + 1] as number;
    pathZero[start + i] = pathZero[start + i + 1] as number;
    pathOne[start + i] = pathOne[start + i + 1] as number;
  }
}

/**
 * Adds a leaf's share to the features on the path. Along a path every "one" fraction is 0 or 1,
 * and the unwound sum of an element with one = 0 is a path-wide sum divided by its zero
 * fraction, so those elements (the row took the other branch) share one O(depth) loop.
 */
function creditLeaf(start: number, depth: number, value: number, out: Float64Array): void {
  let coldSum = 0;
  for (let j = 0; j < depth; j++) {
    coldSum += (pathWeight[start + j] as number) * (reciprocal[depth - j] as number);
  }
  for (let i = 1; i <= depth; i++) {
    const zero = pathZero[start + i] as number;
    const one = pathOne[start + i] as number;
    const weight = one === 0 ? (coldSum * (depth + 1)) / zero : hotUnwoundSum(start, depth, zero);
    const feature = pathFeature[start + i] as number;
    out[feature] = (out[feature] as number) + weight * (one - zero) * value;
  }
}

/** Total permutation weight of the path with an element of one fraction 1 unwound. */
function hotUnwoundSum(start: number, depth: number, zero: number): number {
  let next = pathWeight[start + depth] as number;
  let total = 0;
  for (let j = depth - 1; j >= 0; j--) {
    const share = next * (reciprocal[j + 1] as number);
    total += share;
    next = (pathWeight[start + j] as number) - share * zero * (depth - j);
  }
  return total * (depth + 1);
}

function recurse(
  tree: GbdtTree,
  row: Float64Array,
  out: Float64Array,
  node: number,
  depth: number,
  parentStart: number,
  zero: number,
  one: number,
  feature: number,
): void {
  const start = parentStart + depth + 1;
  // Plain loops: copyWithin is a call into the runtime, slower for paths this short.
  for (let i = 0; i <= depth; i++) {
    pathFeature[start + i] = pathFeature[parentStart + i] as number;
    pathZero[start + i] = pathZero[parentStart + i] as number;
    pathOne[start + i] = pathOne[parentStart + i] as number;
    pathWeight[start + i] = pathWeight[parentStart + i] as number;
  }
  extendPath(start, depth, zero, one, feature);
  const split = tree.feature[node] as number;
  if (split < 0) {
    creditLeaf(start, depth, tree.value[node] as number, out);
    return;
  }
  const hot = childFor(tree, node, row[split] as number);
  const cold = hot === tree.left[node] ? (tree.right[node] as number) : (tree.left[node] as number);
  const cover = tree.cover[node] as number;
  let incomingZero = 1;
  let incomingOne = 1;
  let childDepth = depth + 1;
  // A feature already on the path is unwound and re-added, so it counts once.
  for (let i = 1; i <= depth; i++) {
    if (pathFeature[start + i] !== split) continue;
    incomingZero = pathZero[start + i] as number;
    incomingOne = pathOne[start + i] as number;
    unwindPath(start, depth, i);
    childDepth = depth;
    break;
  }
  const hotZero = ((tree.cover[hot] as number) / cover) * incomingZero;
  const coldZero = ((tree.cover[cold] as number) / cover) * incomingZero;
  recurse(tree, row, out, hot, childDepth, start, hotZero, incomingOne, split);
  recurse(tree, row, out, cold, childDepth, start, coldZero, 0, split);
}

/** Cover-weighted mean leaf value: the tree's output when no feature is known. */
function expectedOutput(tree: GbdtTree): number {
  let sum = 0;
  for (let node = 0; node < tree.feature.length; node++) {
    if ((tree.feature[node] as number) < 0) {
      sum += (tree.value[node] as number) * (tree.cover[node] as number);
    }
  }
  return sum / (tree.cover[0] as number);
}

/**
 * Path-dependent TreeSHAP for one row (NaN = missing): writes one contribution per feature into
 * `out` and returns the expected value, so that base + sum(out) equals predictLogit(row) up to
 * rounding. A feature no tree splits on gets exactly 0.
 */
export function treeShap(model: GbdtModel, row: Float64Array, out: Float64Array): number {
  if (row.length < model.features || out.length < model.features) {
    throw new Error(`treeShap needs a row and an output of ${model.features} features`);
  }
  out.fill(0);
  let expected = model.baseLogit;
  for (const tree of model.trees) {
    reserveScratch(tree);
    expected += expectedOutput(tree);
    recurse(tree, row, out, 0, 0, 0, 1, 1, -1);
  }
  return expected;
}
