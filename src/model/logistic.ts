/**
 * L2-regularised logistic regression fitted exactly by Newton's method (IRLS): each step solves
 * the penalised Hessian system with a Cholesky factorisation, so the optimum is reached to
 * machine precision in a handful of steps and the result does not depend on a learning rate.
 */
import type { PackedDesign } from './design.js';

export interface DesignMatrix {
  rows: number;
  columns: number;
  /** Row-major values, `rows × columns`. */
  values: Float64Array;
}

export interface LogisticFit {
  intercept: number;
  weights: Float64Array;
}

export type LogisticOptions = Omit<PackedFitOptions, 'rows'>;

export function sigmoid(logit: number): number {
  return logit >= 0 ? 1 / (1 + Math.exp(-logit)) : Math.exp(logit) / (1 + Math.exp(logit));
}

/**
 * Cholesky factor of a symmetric positive definite `a` (n × n, row-major; only its lower triangle
 * is read), in place: afterwards its lower triangle holds L with L Lᵀ = A.
 */
function choleskyFactor(a: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    let diagonal = a[j * n + j] as number;
    for (let k = 0; k < j; k++) diagonal -= (a[j * n + k] as number) ** 2;
    if (!(diagonal > 0)) throw new Error('the penalised Hessian is not positive definite');
    const root = Math.sqrt(diagonal);
    a[j * n + j] = root;
    for (let i = j + 1; i < n; i++) {
      let sum = a[i * n + j] as number;
      for (let k = 0; k < j; k++) sum -= (a[i * n + k] as number) * (a[j * n + k] as number);
      a[i * n + j] = sum / root;
    }
  }
}

/** Solves `L Lᵀ x = b` with a factor from `choleskyFactor`. */
function choleskySolve(l: Float64Array, b: Float64Array, n: number): Float64Array {
  const x = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    let sum = x[i] as number;
    for (let k = 0; k < i; k++) sum -= (l[i * n + k] as number) * (x[k] as number);
    x[i] = sum / (l[i * n + i] as number);
  }
  for (let i = n - 1; i >= 0; i--) {
    let sum = x[i] as number;
    for (let k = i + 1; k < n; k++) sum -= (l[k * n + i] as number) * (x[k] as number);
    x[i] = sum / (l[i * n + i] as number);
  }
  return x;
}

export interface PackedFitOptions {
  /** Penalty on the squared weights (never on the intercept). */
  l2: number;
  /** Design rows to fit on (all when absent), so cross-validation needs no copies. */
  rows?: Int32Array;
  /** Coefficients to start from (intercept first), e.g. a neighbouring fold's: fewer steps. */
  start?: Float64Array;
  maxIterations?: number;
  /** Stop when the largest Newton step is below this. */
  tolerance?: number;
  /**
   * The penalised Hessian (lower triangle) at or near `start`, when the caller has it: the first
   * steps use it instead of a pass of their own (see foldHessians).
   */
  hessian?: Float64Array;
}

/** Logit of design row `r` for coefficients `beta` (intercept first). */
function logitOf(design: PackedDesign, beta: Float64Array, r: number): number {
  const { dense, denseValues, sparse, sparseIndexes } = design;
  let z = beta[0] as number;
  const denseOffset = r * dense;
  for (let i = 0; i < dense; i++) {
    z += (beta[i + 1] as number) * (denseValues[denseOffset + i] as number);
  }
  const sparseOffset = r * sparse;
  for (let s = 0; s < sparse; s++)
    z += beta[(sparseIndexes[sparseOffset + s] as number) + 1] as number;
  return z;
}

/**
 * Adds `curvature` times design row `r`'s outer product to the lower triangle of `hessian`. A
 * row's active entries are the intercept, the dense features and one level per categorical
 * column, in increasing feature order, so each block fills without a branch: dense by dense,
 * then per level its dense part and the levels before it. `scaled` is scratch of `dense` cells.
 */
function addCurvature(
  hessian: Float64Array,
  design: PackedDesign,
  r: number,
  curvature: number,
  scaled: Float64Array,
): void {
  const { dense, denseValues, sparse, sparseIndexes } = design;
  const size = design.features + 1;
  const denseOffset = r * dense;
  hessian[0] = (hessian[0] as number) + curvature;
  for (let a = 0; a < dense; a++) {
    const weighted = curvature * (denseValues[denseOffset + a] as number);
    scaled[a] = weighted;
    const base = (a + 1) * size;
    hessian[base] = (hessian[base] as number) + weighted;
    for (let b = 0; b <= a; b++) {
      const cell = base + b + 1;
      hessian[cell] =
        (hessian[cell] as number) + weighted * (denseValues[denseOffset + b] as number);
    }
  }
  const sparseOffset = r * sparse;
  for (let s = 0; s < sparse; s++) {
    const base = ((sparseIndexes[sparseOffset + s] as number) + 1) * size;
    hessian[base] = (hessian[base] as number) + curvature;
    for (let b = 0; b < dense; b++) {
      const cell = base + b + 1;
      hessian[cell] = (hessian[cell] as number) + (scaled[b] as number);
    }
    for (let q = 0; q <= s; q++) {
      const cell = base + (sparseIndexes[sparseOffset + q] as number) + 1;
      hessian[cell] = (hessian[cell] as number) + curvature;
    }
  }
}

/** The probability of a logit, given `e` = e^-|z| (which the loss needs too), without overflow. */
function probabilityOf(z: number, e: number): number {
  return z >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/** Adds the penalty's curvature to the lower triangle of an unpenalised Hessian. */
function penalise(hessian: Float64Array, size: number, l2: number): void {
  for (let i = 1; i < size; i++) hessian[i * size + i] = (hessian[i * size + i] as number) + l2;
  // A column that separates the classes drives every p(1 - p) to zero, and the unpenalised
  // intercept's curvature with it. A sliver on its diagonal keeps the system solvable; it only
  // shapes the steps, not the optimum, where the gradient is zero whatever the Hessian.
  hessian[0] = (hessian[0] as number) + INTERCEPT_CURVATURE_FLOOR;
}

/**
 * One pass over the rows at `beta`: the penalised loss, its negative gradient into `gradient`
 * and, when `hessian` is given, the lower triangle of the penalised Hessian. A row adds to the
 * Hessian only over its active entries, so a row costs its source columns, not its features.
 */
function evaluateAt(
  design: PackedDesign,
  y: Float64Array,
  beta: Float64Array,
  options: PackedFitOptions,
  gradient: Float64Array,
  hessian: Float64Array | undefined,
): number {
  const { dense, denseValues, sparse, sparseIndexes } = design;
  const size = design.features + 1;
  const rows = options.rows;
  const count = rows?.length ?? design.rows;
  const scaled = new Float64Array(dense);
  gradient.fill(0);
  hessian?.fill(0);
  let loss = 0;
  for (let t = 0; t < count; t++) {
    const r = rows === undefined ? t : (rows[t] as number);
    const z = logitOf(design, beta, r);
    const e = Math.exp(-Math.abs(z));
    const p = probabilityOf(z, e);
    const target = y[r] as number;
    loss += Math.max(z, 0) + Math.log1p(e) - target * z;
    const residual = target - p;
    gradient[0] = (gradient[0] as number) + residual;
    const denseOffset = r * dense;
    for (let i = 0; i < dense; i++) {
      gradient[i + 1] =
        (gradient[i + 1] as number) + residual * (denseValues[denseOffset + i] as number);
    }
    const sparseOffset = r * sparse;
    for (let s = 0; s < sparse; s++) {
      const feature = (sparseIndexes[sparseOffset + s] as number) + 1;
      gradient[feature] = (gradient[feature] as number) + residual;
    }
    if (hessian) addCurvature(hessian, design, r, p * (1 - p), scaled);
  }
  for (let i = 1; i < size; i++) {
    loss += (options.l2 / 2) * (beta[i] as number) ** 2;
    gradient[i] = (gradient[i] as number) - options.l2 * (beta[i] as number);
  }
  if (hessian) penalise(hessian, size, options.l2);
  return loss;
}

/**
 * The penalised Hessian at `beta` of a fit without each fold, for every fold, from one pass over
 * the rows: each row adds to its own fold's part, and a fold's Hessian is the sum of the others'.
 * Cross-validation's folds share most of their rows, so this costs one fold's Hessian, not k.
 */
export function foldHessians(
  design: PackedDesign,
  beta: Float64Array,
  assignment: Int32Array,
  folds: number,
  l2: number,
): Float64Array[] {
  const size = design.features + 1;
  const scaled = new Float64Array(design.dense);
  const parts = Array.from({ length: folds }, () => new Float64Array(size * size));
  for (let r = 0; r < design.rows; r++) {
    const z = logitOf(design, beta, r);
    const p = probabilityOf(z, Math.exp(-Math.abs(z)));
    addCurvature(parts[assignment[r] as number] as Float64Array, design, r, p * (1 - p), scaled);
  }
  return parts.map((_, fold) => {
    const hessian = new Float64Array(size * size);
    parts.forEach((part, other) => {
      if (other === fold) return;
      for (let cell = 0; cell < hessian.length; cell++) {
        hessian[cell] = (hessian[cell] as number) + (part[cell] as number);
      }
    });
    penalise(hessian, size, l2);
    return hessian;
  });
}

const INTERCEPT_CURVATURE_FLOOR = 1e-9;

/** A step that shrinks by less than this against the previous one asks for a fresh Hessian. */
const CHORD_CONTRACTION = 0.25;
/** Coefficients up to which every step is a full Newton step (Platt scaling has two). */
const SMALL_SYSTEM = 4;

/**
 * Fits `P(y=1) = sigmoid(intercept + x·w)` on a packed design, minimising log loss + l2/2 · |w|².
 * Newton's method, reusing a factored Hessian while it still works: a Hessian pass costs a row
 * its active entries squared, a gradient pass only its active entries, and from a warm start
 * (a neighbouring fold's fit) the first Hessian stays good enough for every step. A fresh one is
 * computed when the steps stop shrinking fast. A step that raises the loss (far from the
 * optimum, near-separable data) is halved until it does not. Returns the coefficients,
 * intercept first.
 */
export function fitPacked(
  design: PackedDesign,
  y: Float64Array,
  options: PackedFitOptions,
): Float64Array {
  const size = design.features + 1;
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-9;
  const beta = options.start ? Float64Array.from(options.start) : new Float64Array(size);
  const factor = new Float64Array(size * size);
  const gradient = new Float64Array(size);
  let refresh = options.hessian === undefined;
  if (options.hessian) {
    factor.set(options.hessian);
    choleskyFactor(factor, size);
  }
  let accepted: { beta: Float64Array; step: Float64Array; loss: number } | undefined;
  let scale = 1;
  let previousLargest = Number.POSITIVE_INFINITY;
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    const fresh: boolean = refresh;
    const loss = evaluateAt(design, y, beta, options, gradient, fresh ? factor : undefined);
    if (fresh) choleskyFactor(factor, size);
    refresh = false;
    // Sums over many rows round differently for nearly equal coefficients: only a rise beyond
    // rounding is an overshoot.
    if (accepted && loss > accepted.loss + 1e-12 * Math.abs(accepted.loss) && scale > 2 ** -30) {
      scale /= 2;
      for (let i = 0; i < size; i++) {
        beta[i] = (accepted.beta[i] as number) + scale * (accepted.step[i] as number);
      }
      continue;
    }
    const step = choleskySolve(factor, gradient, size);
    let largest = 0;
    for (let i = 0; i < size; i++) largest = Math.max(largest, Math.abs(step[i] as number));
    accepted = { beta: Float64Array.from(beta), step, loss };
    for (let i = 0; i < size; i++) beta[i] = (beta[i] as number) + (step[i] as number);
    if (largest < tolerance) break;
    // With a handful of features a Hessian costs no more than a gradient: always take it.
    refresh = size <= SMALL_SYSTEM || (!fresh && largest > CHORD_CONTRACTION * previousLargest);
    previousLargest = largest;
    scale = 1;
  }
  return beta;
}

/**
 * How much one Newton step from `beta` would lower the penalised loss, ½ gᵀH⁻¹g, per row: at the
 * optimum of some features with new ones at zero, a cheap close estimate of what fitting the new
 * ones gains on these rows (the Rao score statistic, halved). Out of sample they gain less.
 */
export function oneStepGain(
  design: PackedDesign,
  y: Float64Array,
  beta: Float64Array,
  options: PackedFitOptions,
): number {
  const size = design.features + 1;
  const gradient = new Float64Array(size);
  const hessian = new Float64Array(size * size);
  evaluateAt(design, y, beta, options, gradient, hessian);
  choleskyFactor(hessian, size);
  const step = choleskySolve(hessian, gradient, size);
  let decrement = 0;
  for (let i = 0; i < size; i++) decrement += (step[i] as number) * (gradient[i] as number);
  return decrement / 2 / (options.rows?.length ?? design.rows);
}

/** Logits of design rows `rows` for coefficients `beta` (intercept first). */
export function predictPacked(
  design: PackedDesign,
  beta: Float64Array,
  rows: Int32Array,
): Float64Array {
  return Float64Array.from(rows, (r) => logitOf(design, beta, r));
}

/** A row-major dense matrix as a packed design with no categorical part. */
export function packDense(x: DesignMatrix): PackedDesign {
  return {
    rows: x.rows,
    dense: x.columns,
    denseValues: x.values,
    sparse: 0,
    sparseIndexes: new Int32Array(0),
    features: x.columns,
    centres: new Float64Array(x.columns),
    keys: Array.from({ length: x.columns }, (_, i) => `x${i}`),
  };
}

/** Fits on a dense matrix (Platt scaling, tests); see `fitPacked`. */
export function fitLogistic(
  x: DesignMatrix,
  y: Float64Array,
  options: LogisticOptions,
): LogisticFit {
  const beta = fitPacked(packDense(x), y, options);
  return { intercept: beta[0] as number, weights: beta.slice(1) };
}

export function predictLogits(x: DesignMatrix, fit: LogisticFit): Float64Array {
  const beta = Float64Array.of(fit.intercept, ...fit.weights);
  return predictPacked(
    packDense(x),
    beta,
    Int32Array.from({ length: x.rows }, (_, r) => r),
  );
}
