/**
 * Histogram gradient-boosted decision trees for binary classification (log loss), grown
 * leaf-wise like LightGBM. Features are quantile-binned once into byte codes; a split is found
 * on per-bin gradient/hessian sums, and a child's histogram is its parent's minus its sibling's,
 * so only the smaller child of every split is ever scanned. Trees keep raw-value thresholds, so
 * scoring and TreeSHAP (tree-shap.ts) never need the bins.
 */
import { seededRandom } from './cross-validation.js';

/** Column-major numeric matrix; NaN = missing. */
export interface FeatureMatrix {
  rows: number;
  features: number;
  /** values[f * rows + r] */
  values: Float64Array;
}

export interface GbdtOptions {
  maxTrees: number;
  learningRate: number;
  /** Leaves per tree, grown best-first (leaf-wise) rather than level by level. */
  maxLeaves: number;
  minRowsPerLeaf: number;
  l2: number;
  /** Bins per feature for present values (at most 255, the default); missing has its own. */
  maxBins?: number;
  /** Picks the rows the bin edges are estimated from when there are over 100,000; nothing
   * else is random. */
  seed?: number;
  /** Stop once the held-out log loss has not improved for `patience` trees; keep the best count. */
  validation?: { matrix: FeatureMatrix; labels: Float64Array; patience: number };
  /** Row subset to fit on (indexes into matrix), so cross-validation needs no copies. */
  rows?: Int32Array;
}

export interface GbdtModel {
  /** Logit of the training base rate. */
  baseLogit: number;
  /** Length of the dense rows the model scores. */
  features: number;
  trees: GbdtTree[];
}

/**
 * One tree as flat arrays (JSON-friendly); node 0 is the root. Internal node i: feature[i] >= 0,
 * a row goes left when its value <= threshold[i] (a raw value) and, when the value is missing,
 * when missingLeft[i]. Leaf i: feature[i] = -1 and value[i] is its output, already scaled by the
 * learning rate. cover[i] is the number of training rows that reached node i.
 */
export interface GbdtTree {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  missingLeft: boolean[];
  value: number[];
  cover: number[];
}

/** Splits need this much hessian on each side so no leaf's Newton step divides by almost 0. */
const MIN_CHILD_HESSIAN = 1e-3;
/** Smaller gains are rounding noise, not structure. */
const MIN_SPLIT_GAIN = 1e-12;
/** Quantiles of this many rows are as good as of all rows, and far cheaper to sort. */
const BIN_SAMPLE_ROWS = 100_000;
/** Threshold of a split that sends every present value left and only missing ones right:
 * Infinity would not survive JSON. */
const ALL_PRESENT_LEFT = Number.MAX_VALUE;

/** The child a value leads to at internal node `node`; TreeSHAP must follow the same rule. */
export function childFor(tree: GbdtTree, node: number, value: number): number {
  const left = Number.isNaN(value)
    ? (tree.missingLeft[node] as boolean)
    : value <= (tree.threshold[node] as number);
  return (left ? tree.left[node] : tree.right[node]) as number;
}

/** Leaf output for the row whose feature f is values[offset + f * stride]. */
function treeOutput(tree: GbdtTree, values: Float64Array, offset: number, stride: number): number {
  let node = 0;
  for (
    let feature = tree.feature[0] as number;
    feature >= 0;
    feature = tree.feature[node] as number
  ) {
    node = childFor(tree, node, values[offset + feature * stride] as number);
  }
  return tree.value[node] as number;
}

/** Raw logit of one row given as a dense Float64Array of feature values (NaN = missing). */
export function predictLogit(model: GbdtModel, row: Float64Array): number {
  if (row.length < model.features) {
    throw new Error(`a row needs ${model.features} feature values, got ${row.length}`);
  }
  let logit = model.baseLogit;
  for (const tree of model.trees) logit += treeOutput(tree, row, 0, 1);
  return logit;
}

interface BinnedRows {
  /** Training rows; row i is matrix row `rows[i]`. */
  count: number;
  /** Per feature, the ascending raw upper edges of every bin but the last. */
  edges: Float64Array[];
  /** codes[f * count + i]; code edges[f].length + 1 is the missing bin. An odd number of
   * features gets a zero-filled padding column: histograms take features in fours and twos. */
  codes: Uint8Array;
}

function binSample(rows: Int32Array, seed: number): Int32Array {
  if (rows.length <= BIN_SAMPLE_ROWS) return rows;
  const random = seededRandom(seed);
  const pool = Int32Array.from(rows);
  for (let i = 0; i < BIN_SAMPLE_ROWS; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    const chosen = pool[j] as number;
    pool[j] = pool[i] as number;
    pool[i] = chosen;
  }
  return pool.subarray(0, BIN_SAMPLE_ROWS);
}

function sortedPresentValues(matrix: FeatureMatrix, feature: number, rows: Int32Array) {
  const present = new Float64Array(rows.length);
  let count = 0;
  for (const row of rows) {
    const value = matrix.values[feature * matrix.rows + row] as number;
    if (!Number.isNaN(value)) present[count++] = value;
  }
  return present.subarray(0, count).sort();
}

/** Splits the gap between neighbouring present values evenly (as scikit-learn and LightGBM do),
 * falling back to the lower value where the midpoint rounds onto the upper one. */
function between(low: number, high: number): number {
  const middle = low / 2 + high / 2;
  return middle >= low && middle < high ? middle : low;
}

function countDistinct(sorted: Float64Array): number {
  let distinct = sorted.length > 0 ? 1 : 0;
  for (let i = 1; i < sorted.length; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  return distinct;
}

/**
 * Upper edges of quantile bins. A bin is closed at a distinct value once it holds its fair share
 * of the rows not yet binned, so one heavily repeated value uses up a single bin and the rest are
 * spread over the other values; at most maxBins - 1 edges.
 */
function binEdges(sorted: Float64Array, maxBins: number): Float64Array {
  const everyValue = countDistinct(sorted) <= maxBins;
  const edges: number[] = [];
  let binStart = 0;
  for (let i = 0; i < sorted.length; ) {
    const value = sorted[i] as number;
    let next = i + 1;
    while (next < sorted.length && sorted[next] === value) next++;
    if (next === sorted.length) break;
    const fairShare = (sorted.length - binStart) / (maxBins - edges.length);
    if (everyValue || next - binStart >= fairShare) {
      edges.push(between(value, sorted[next] as number));
      binStart = next;
    }
    i = next;
  }
  return Float64Array.from(edges);
}

/** Bin of a value: the number of edges below it, so `value <= edges[b]` iff its bin is <= b. */
function binCode(edges: Float64Array, value: number): number {
  if (Number.isNaN(value)) return edges.length + 1;
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((edges[middle] as number) < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

function binRows(matrix: FeatureMatrix, rows: Int32Array, maxBins: number, seed: number) {
  const sample = binSample(rows, seed);
  const count = rows.length;
  const codes = new Uint8Array((matrix.features + (matrix.features % 2)) * count);
  const edges: Float64Array[] = [];
  for (let f = 0; f < matrix.features; f++) {
    const featureEdges = binEdges(sortedPresentValues(matrix, f, sample), maxBins);
    edges.push(featureEdges);
    for (let i = 0; i < count; i++) {
      const value = matrix.values[f * matrix.rows + (rows[i] as number)] as number;
      codes[f * count + i] = binCode(featureEdges, value);
    }
  }
  return { count, edges, codes } satisfies BinnedRows;
}

/**
 * Grows one tree at a time on the binned rows. All scratch (row order, histograms, per-leaf
 * state) is allocated once per fit. The rows of a leaf are a contiguous segment of `order`, kept
 * in ascending row order so column reads stay sequential.
 */
class TreeGrower {
  readonly gradients: Float64Array;
  readonly hessians: Float64Array;
  private readonly order: Int32Array;
  private readonly spill: Int32Array;
  private readonly goesLeft = new Uint8Array(256);
  private readonly gatheredGradients: Float64Array;
  private readonly gatheredHessians: Float64Array;
  private readonly binCounts: Int32Array;
  /** Histogram of a leaf: (gradient, hessian, rows) per bin, every feature's bins + missing. */
  private readonly featureOffsets: Int32Array;
  private readonly histogramSize: number;
  private readonly histograms: Float64Array;
  /** Rows per bin at the root are the same in every tree: counted once, then copied. */
  private rootCounts: Float64Array | undefined;
  private leaves = 0;
  private readonly leafNode: Int32Array;
  private readonly leafStart: Int32Array;
  private readonly leafRows: Int32Array;
  private readonly leafGradient: Float64Array;
  private readonly leafHessian: Float64Array;
  private readonly leafHistogram: Int32Array;
  private readonly splitGain: Float64Array;
  private readonly splitFeature: Int32Array;
  private readonly splitBin: Int32Array;
  private readonly splitMissingLeft: Uint8Array;
  private readonly splitLeftGradient: Float64Array;
  private readonly splitLeftHessian: Float64Array;
  private readonly splitLeftRows: Int32Array;

  constructor(
    private readonly binned: BinnedRows,
    private readonly options: GbdtOptions,
  ) {
    const { count, edges } = binned;
    const maxLeaves = options.maxLeaves;
    this.gradients = new Float64Array(count);
    this.hessians = new Float64Array(count);
    this.order = new Int32Array(count);
    this.spill = new Int32Array(count);
    this.gatheredGradients = new Float64Array(count);
    this.gatheredHessians = new Float64Array(count);
    this.binCounts = Int32Array.from(edges, (featureEdges) => featureEdges.length + 1);
    const columns = binned.codes.length / count;
    this.featureOffsets = new Int32Array(columns);
    let bins = 0;
    for (let f = 0; f < columns; f++) {
      this.featureOffsets[f] = bins * 3;
      bins += (this.binCounts[f] ?? 1) + 1;
    }
    this.histogramSize = bins * 3;
    this.histograms = new Float64Array(maxLeaves * this.histogramSize);
    this.leafNode = new Int32Array(maxLeaves);
    this.leafStart = new Int32Array(maxLeaves);
    this.leafRows = new Int32Array(maxLeaves);
    this.leafGradient = new Float64Array(maxLeaves);
    this.leafHessian = new Float64Array(maxLeaves);
    this.leafHistogram = new Int32Array(maxLeaves);
    this.splitGain = new Float64Array(maxLeaves);
    this.splitFeature = new Int32Array(maxLeaves);
    this.splitBin = new Int32Array(maxLeaves);
    this.splitMissingLeft = new Uint8Array(maxLeaves);
    this.splitLeftGradient = new Float64Array(maxLeaves);
    this.splitLeftHessian = new Float64Array(maxLeaves);
    this.splitLeftRows = new Int32Array(maxLeaves);
  }

  /** Grows a tree on the current gradients and adds its output to the row scores. */
  grow(scores: RowScores): GbdtTree {
    const tree: GbdtTree = {
      feature: [],
      threshold: [],
      left: [],
      right: [],
      missingLeft: [],
      value: [],
      cover: [],
    };
    const count = this.binned.count;
    let gradient = 0;
    let hessian = 0;
    for (let i = 0; i < count; i++) {
      this.order[i] = i;
      gradient += this.gradients[i] as number;
      hessian += this.hessians[i] as number;
    }
    this.leaves = 1;
    this.openLeaf(0, addNode(tree, count), 0, count, gradient, hessian);
    this.leafHistogram[0] = 0;
    this.buildHistogram(0);
    this.findSplit(0);
    for (let leaf = this.bestLeaf(); leaf >= 0; leaf = this.bestLeaf()) this.split(tree, leaf);
    this.finishLeaves(tree, scores);
    return tree;
  }

  private openLeaf(leaf: number, node: number, start: number, rows: number, g: number, h: number) {
    this.leafNode[leaf] = node;
    this.leafStart[leaf] = start;
    this.leafRows[leaf] = rows;
    this.leafGradient[leaf] = g;
    this.leafHessian[leaf] = h;
    this.splitGain[leaf] = Number.NEGATIVE_INFINITY;
  }

  private bestLeaf(): number {
    if (this.leaves >= this.options.maxLeaves) return -1;
    let best = -1;
    let bestGain = MIN_SPLIT_GAIN;
    for (let leaf = 0; leaf < this.leaves; leaf++) {
      const gain = this.splitGain[leaf] as number;
      if (gain > bestGain) {
        best = leaf;
        bestGain = gain;
      }
    }
    return best;
  }

  private split(tree: GbdtTree, leaf: number): void {
    const feature = this.splitFeature[leaf] as number;
    const bin = this.splitBin[leaf] as number;
    const missingLeft = this.splitMissingLeft[leaf] === 1;
    const start = this.leafStart[leaf] as number;
    const rows = this.leafRows[leaf] as number;
    const leftRows = this.partition(start, rows, feature, bin, missingLeft);
    const parent = this.leafNode[leaf] as number;
    const leftNode = addNode(tree, leftRows);
    const rightNode = addNode(tree, rows - leftRows);
    tree.feature[parent] = feature;
    const edges = this.binned.edges[feature] as Float64Array;
    tree.threshold[parent] = bin < edges.length ? (edges[bin] as number) : ALL_PRESENT_LEFT;
    tree.missingLeft[parent] = missingLeft;
    tree.left[parent] = leftNode;
    tree.right[parent] = rightNode;

    const right = this.leaves++;
    const leftGradient = this.splitLeftGradient[leaf] as number;
    const leftHessian = this.splitLeftHessian[leaf] as number;
    const rightGradient = (this.leafGradient[leaf] as number) - leftGradient;
    const rightHessian = (this.leafHessian[leaf] as number) - leftHessian;
    const parentHistogram = this.leafHistogram[leaf] as number;
    this.openLeaf(leaf, leftNode, start, leftRows, leftGradient, leftHessian);
    this.openLeaf(right, rightNode, start + leftRows, rows - leftRows, rightGradient, rightHessian);
    // Histogram slots are a permutation of 0..leaves-1, so slot `right` is free.
    this.leafHistogram[right] = right;
    if (!this.canSplitLater(leaf) && !this.canSplitLater(right)) return;
    const smaller = leftRows <= rows - leftRows ? leaf : right;
    const larger = smaller === leaf ? right : leaf;
    this.leafHistogram[larger] = parentHistogram;
    this.leafHistogram[smaller] = right;
    this.buildHistogram(smaller);
    this.subtractHistogram(larger, smaller);
    this.findSplit(leaf);
    this.findSplit(right);
  }

  private canSplitLater(leaf: number): boolean {
    return (
      this.leaves < this.options.maxLeaves &&
      (this.leafRows[leaf] as number) >= 2 * this.options.minRowsPerLeaf
    );
  }

  /**
   * Stable partition of a leaf's rows; returns how many go left. Which way a row goes is about
   * as predictable as a coin toss, so it is looked up per code and both destinations written,
   * with no branch to mispredict.
   */
  private partition(
    start: number,
    rows: number,
    feature: number,
    bin: number,
    missingLeft: boolean,
  ) {
    const { codes, count } = this.binned;
    const { order, spill, goesLeft } = this;
    for (let code = 0; code < 256; code++) goesLeft[code] = code <= bin ? 1 : 0;
    goesLeft[this.binCounts[feature] as number] = missingLeft ? 1 : 0;
    const column = feature * count;
    let kept = start;
    let spilled = 0;
    for (let i = start; i < start + rows; i++) {
      const row = order[i] as number;
      const left = goesLeft[codes[column + row] as number] as number;
      order[kept] = row;
      spill[spilled] = row;
      kept += left;
      spilled += 1 - left;
    }
    order.set(spill.subarray(0, spilled), kept);
    return kept - start;
  }

  private buildHistogram(leaf: number): void {
    const { order, histograms, gatheredGradients, gatheredHessians } = this;
    const start = this.leafStart[leaf] as number;
    const rows = this.leafRows[leaf] as number;
    const slot = (this.leafHistogram[leaf] as number) * this.histogramSize;
    histograms.fill(0, slot, slot + this.histogramSize);
    for (let i = 0; i < rows; i++) {
      const row = order[start + i] as number;
      gatheredGradients[i] = this.gradients[row] as number;
      gatheredHessians[i] = this.hessians[row] as number;
    }
    const isRoot = rows === this.binned.count;
    const counting = !isRoot || this.rootCounts === undefined;
    const columns = this.featureOffsets.length;
    let f = 0;
    for (; f + 4 <= columns; f += 4) this.accumulateFour(slot, f, start, rows, counting);
    if (f < columns) this.accumulateTwo(slot, f, start, rows, counting);
    if (!counting) this.copyRootCounts(slot);
    else if (isRoot) this.rootCounts = histograms.slice(slot, slot + this.histogramSize);
  }

  private copyRootCounts(slot: number): void {
    const rootCounts = this.rootCounts as Float64Array;
    for (let i = 2; i < this.histogramSize; i += 3) {
      this.histograms[slot + i] = rootCounts[i] as number;
    }
  }

  private accumulateTwo(slot: number, f: number, start: number, rows: number, counting: boolean) {
    const { codes, count } = this.binned;
    const { order, histograms: h, gatheredGradients, gatheredHessians } = this;
    const c0 = f * count;
    const c1 = c0 + count;
    const b0 = slot + (this.featureOffsets[f] as number);
    const b1 = slot + (this.featureOffsets[f + 1] as number);
    for (let i = 0; i < rows; i++) {
      const row = order[start + i] as number;
      const g = gatheredGradients[i] as number;
      const hessian = gatheredHessians[i] as number;
      const a0 = b0 + 3 * (codes[c0 + row] as number);
      const a1 = b1 + 3 * (codes[c1 + row] as number);
      h[a0] = (h[a0] as number) + g;
      h[a1] = (h[a1] as number) + g;
      h[a0 + 1] = (h[a0 + 1] as number) + hessian;
      h[a1 + 1] = (h[a1 + 1] as number) + hessian;
      if (!counting) continue;
      h[a0 + 2] = (h[a0 + 2] as number) + 1;
      h[a1 + 2] = (h[a1 + 2] as number) + 1;
    }
  }

  /**
   * Histograms of features f..f+3 in one pass. Neighbouring rows often share a bin, and one
   * feature at a time would chain each update on the previous one; four interleaved features
   * give the CPU independent chains (measured 1.6x faster than one at a time).
   */
  private accumulateFour(slot: number, f: number, start: number, rows: number, counting: boolean) {
    const { codes, count } = this.binned;
    const { order, histograms: h, gatheredGradients, gatheredHessians } = this;
    const offsets = this.featureOffsets;
    const c0 = f * count;
    const c1 = c0 + count;
    const c2 = c1 + count;
    const c3 = c2 + count;
    const b0 = slot + (offsets[f] as number);
    const b1 = slot + (offsets[f + 1] as number);
    const b2 = slot + (offsets[f + 2] as number);
    const b3 = slot + (offsets[f + 3] as number);
    for (let i = 0; i < rows; i++) {
      const row = order[start + i] as number;
      const g = gatheredGradients[i] as number;
      const hessian = gatheredHessians[i] as number;
      const a0 = b0 + 3 * (codes[c0 + row] as number);
      const a1 = b1 + 3 * (codes[c1 + row] as number);
      const a2 = b2 + 3 * (codes[c2 + row] as number);
      const a3 = b3 + 3 * (codes[c3 + row] as number);
      h[a0] = (h[a0] as number) + g;
      h[a1] = (h[a1] as number) + g;
      h[a2] = (h[a2] as number) + g;
      h[a3] = (h[a3] as number) + g;
      h[a0 + 1] = (h[a0 + 1] as number) + hessian;
      h[a1 + 1] = (h[a1 + 1] as number) + hessian;
      h[a2 + 1] = (h[a2 + 1] as number) + hessian;
      h[a3 + 1] = (h[a3 + 1] as number) + hessian;
      if (!counting) continue;
      h[a0 + 2] = (h[a0 + 2] as number) + 1;
      h[a1 + 2] = (h[a1 + 2] as number) + 1;
      h[a2 + 2] = (h[a2 + 2] as number) + 1;
      h[a3 + 2] = (h[a3 + 2] as number) + 1;
    }
  }

  private subtractHistogram(into: number, minus: number): void {
    const histograms = this.histograms;
    const target = (this.leafHistogram[into] as number) * this.histogramSize;
    const source = (this.leafHistogram[minus] as number) * this.histogramSize;
    for (let i = 0; i < this.histogramSize; i++) {
      histograms[target + i] =
        (histograms[target + i] as number) - (histograms[source + i] as number);
    }
  }

  private findSplit(leaf: number): void {
    if ((this.leafRows[leaf] as number) < 2 * this.options.minRowsPerLeaf) return;
    for (let f = 0; f < this.binCounts.length; f++) this.searchFeature(leaf, f);
  }

  /** Tries every bin boundary, with missing values on either side when there are any. */
  private searchFeature(leaf: number, feature: number): void {
    const histograms = this.histograms;
    const base =
      (this.leafHistogram[leaf] as number) * this.histogramSize +
      (this.featureOffsets[feature] as number);
    const bins = this.binCounts[feature] as number;
    const missing = base + 3 * bins;
    const missingGradient = histograms[missing] as number;
    const missingHessian = histograms[missing + 1] as number;
    const missingRows = histograms[missing + 2] as number;
    const rows = this.leafRows[leaf] as number;
    let gradient = 0;
    let hessian = 0;
    let count = 0;
    for (let bin = 0; bin < bins; bin++) {
      const at = base + 3 * bin;
      if (histograms[at + 2] === 0) continue;
      gradient += histograms[at] as number;
      hessian += histograms[at + 1] as number;
      count += histograms[at + 2] as number;
      if (missingRows === 0) {
        // Nothing to learn about missing values here: send them where most rows go.
        this.consider(leaf, feature, bin, count >= rows - count, gradient, hessian, count);
      } else {
        this.consider(leaf, feature, bin, false, gradient, hessian, count);
        this.consider(
          leaf,
          feature,
          bin,
          true,
          gradient + missingGradient,
          hessian + missingHessian,
          count + missingRows,
        );
      }
    }
  }

  private consider(
    leaf: number,
    feature: number,
    bin: number,
    missingLeft: boolean,
    leftGradient: number,
    leftHessian: number,
    leftRows: number,
  ): void {
    const minRows = this.options.minRowsPerLeaf;
    const rightRows = (this.leafRows[leaf] as number) - leftRows;
    const gradient = this.leafGradient[leaf] as number;
    const hessian = this.leafHessian[leaf] as number;
    const rightHessian = hessian - leftHessian;
    if (leftRows < minRows || rightRows < minRows) return;
    if (leftHessian < MIN_CHILD_HESSIAN || rightHessian < MIN_CHILD_HESSIAN) return;
    const l2 = this.options.l2;
    const rightGradient = gradient - leftGradient;
    const gain =
      (leftGradient * leftGradient) / (leftHessian + l2) +
      (rightGradient * rightGradient) / (rightHessian + l2) -
      (gradient * gradient) / (hessian + l2);
    if (!(gain > (this.splitGain[leaf] as number))) return;
    this.splitGain[leaf] = gain;
    this.splitFeature[leaf] = feature;
    this.splitBin[leaf] = bin;
    this.splitMissingLeft[leaf] = missingLeft ? 1 : 0;
    this.splitLeftGradient[leaf] = leftGradient;
    this.splitLeftHessian[leaf] = leftHessian;
    this.splitLeftRows[leaf] = leftRows;
  }

  /** Newton leaf values -G/(H + l2), shrunk by the learning rate. */
  private finishLeaves(tree: GbdtTree, { logits, inverseOdds }: RowScores): void {
    const { learningRate, l2 } = this.options;
    for (let leaf = 0; leaf < this.leaves; leaf++) {
      const output =
        (-learningRate * (this.leafGradient[leaf] as number)) /
        ((this.leafHessian[leaf] as number) + l2);
      tree.value[this.leafNode[leaf] as number] = output;
      const factor = Math.exp(-output);
      const start = this.leafStart[leaf] as number;
      const end = start + (this.leafRows[leaf] as number);
      for (let i = start; i < end; i++) {
        const row = this.order[i] as number;
        logits[row] = (logits[row] as number) + output;
        let odds = (inverseOdds[row] as number) * factor;
        // Beyond e^±690 the product would stick at 0 or Infinity: restart from the logit.
        if (!(odds > 1e-300 && odds < 1e300)) odds = Math.exp(-(logits[row] as number));
        inverseOdds[row] = odds;
      }
    }
  }
}

function addNode(tree: GbdtTree, cover: number): number {
  tree.feature.push(-1);
  tree.threshold.push(0);
  tree.left.push(-1);
  tree.right.push(-1);
  tree.missingLeft.push(false);
  tree.value.push(0);
  tree.cover.push(cover);
  return tree.feature.length - 1;
}

/** Mean log loss of logits, with log(1 + e^z) computed without overflow. */
function meanLogLoss(logits: Float64Array, labels: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const z = logits[i] as number;
    const softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    sum += softplus - (labels[i] as number) * z;
  }
  return sum / logits.length;
}

/** Held-out log loss after every tree, and the tree count where it was lowest. */
class EarlyStopping {
  private readonly logits: Float64Array;
  private bestLoss: number;
  bestCount = 0;

  constructor(
    private readonly validation: NonNullable<GbdtOptions['validation']>,
    baseLogit: number,
  ) {
    this.logits = new Float64Array(validation.matrix.rows).fill(baseLogit);
    this.bestLoss = meanLogLoss(this.logits, validation.labels);
  }

  /** Scores the newest tree; true once `patience` trees in a row have not beaten the best. */
  shouldStop(tree: GbdtTree, treeCount: number): boolean {
    const { matrix, labels, patience } = this.validation;
    for (let r = 0; r < matrix.rows; r++) {
      this.logits[r] = (this.logits[r] as number) + treeOutput(tree, matrix.values, r, matrix.rows);
    }
    const loss = meanLogLoss(this.logits, labels);
    if (loss < this.bestLoss) {
      this.bestLoss = loss;
      this.bestCount = treeCount;
    }
    return treeCount - this.bestCount >= patience;
  }
}

/**
 * Every training row's logit z, and e^-z kept alongside: a leaf multiplies the e^-z of its rows
 * by one e^-output, so the gradients below need no exp per row and tree (a tenth of the fit).
 */
interface RowScores {
  logits: Float64Array;
  inverseOdds: Float64Array;
}

function setLogLossGradients(scores: RowScores, labels: Float64Array, grower: TreeGrower) {
  const { gradients, hessians } = grower;
  const inverseOdds = scores.inverseOdds;
  for (let i = 0; i < inverseOdds.length; i++) {
    const p = 1 / (1 + (inverseOdds[i] as number));
    gradients[i] = p - (labels[i] as number);
    hessians[i] = p * (1 - p);
  }
}

function checkMatrix(matrix: FeatureMatrix, labels: Float64Array, what: string): void {
  if (matrix.values.length !== matrix.rows * matrix.features) {
    throw new Error(`${what} matrix holds ${matrix.values.length} values, not rows × features`);
  }
  if (labels.length !== matrix.rows) throw new Error(`${what} labels must have one per row`);
  if (!labels.every((label) => label === 0 || label === 1)) {
    throw new Error(`${what} labels must be 0 or 1`);
  }
}

function checkOptions(matrix: FeatureMatrix, options: GbdtOptions): void {
  const { maxTrees, learningRate, maxLeaves, minRowsPerLeaf, l2, maxBins = 255, rows } = options;
  const problems = [
    [Number.isInteger(maxTrees) && maxTrees >= 0, 'maxTrees must be a whole number >= 0'],
    [learningRate > 0, 'learningRate must be > 0'],
    [Number.isInteger(maxLeaves) && maxLeaves >= 2, 'maxLeaves must be a whole number >= 2'],
    [Number.isInteger(minRowsPerLeaf) && minRowsPerLeaf >= 1, 'minRowsPerLeaf must be >= 1'],
    [l2 >= 0, 'l2 must be >= 0'],
    [Number.isInteger(maxBins) && maxBins >= 2 && maxBins <= 255, 'maxBins must be 2..255'],
    [rows === undefined || rows.length > 0, 'rows must not be empty'],
    [rows?.every((row) => row >= 0 && row < matrix.rows) ?? true, 'rows must index the matrix'],
    [options.validation === undefined || options.validation.patience >= 1, 'patience must be >= 1'],
  ] as const;
  for (const [ok, problem] of problems) if (!ok) throw new Error(`fitGbdt: ${problem}`);
}

/** Fits log-loss boosted trees; deterministic for the same data, options and seed. */
export function fitGbdt(
  matrix: FeatureMatrix,
  labels: Float64Array,
  options: GbdtOptions,
): GbdtModel {
  checkMatrix(matrix, labels, 'training');
  checkOptions(matrix, options);
  const { validation } = options;
  if (validation !== undefined) {
    checkMatrix(validation.matrix, validation.labels, 'validation');
    if (validation.matrix.features !== matrix.features) {
      throw new Error('the validation matrix must have the training features');
    }
  }
  const rows = options.rows ?? Int32Array.from({ length: matrix.rows }, (_, row) => row);
  const rowLabels = Float64Array.from(rows, (row) => labels[row] as number);
  const rate = rowLabels.reduce((sum, label) => sum + label, 0) / rows.length;
  // A training set of one class gets a large but finite base logit.
  const clamped = Math.min(Math.max(rate, 1e-12), 1 - 1e-12);
  const baseLogit = Math.log(clamped / (1 - clamped));
  const binned = binRows(matrix, rows, options.maxBins ?? 255, options.seed ?? 0);
  const grower = new TreeGrower(binned, options);
  const stopping = validation === undefined ? undefined : new EarlyStopping(validation, baseLogit);
  const scores: RowScores = {
    logits: new Float64Array(rows.length).fill(baseLogit),
    inverseOdds: new Float64Array(rows.length).fill(Math.exp(-baseLogit)),
  };
  const trees: GbdtTree[] = [];
  while (trees.length < options.maxTrees) {
    setLogLossGradients(scores, rowLabels, grower);
    const tree = grower.grow(scores);
    // A tree without a split would only shift every logit alike: boosting has converged.
    if (tree.feature.length === 1) break;
    trees.push(tree);
    if (stopping?.shouldStop(tree, trees.length)) break;
  }
  if (stopping !== undefined) trees.length = stopping.bestCount;
  return { baseLogit, features: matrix.features, trees };
}
