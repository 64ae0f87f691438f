/**
 * L2-regularised logistic regression fitted exactly by Newton's method (IRLS): each step solves
 * the penalised Hessian system with a Cholesky factorisation, so the optimum is reached to
 * machine precision in a handful of steps and the result does not depend on a learning rate.
 */

export interface DesignMatrix {
  rows: number;
  columns: number;
  /** Row-major values, `rows × columns`. */
  values: Float64Array;
}

export interface LogisticFit {
  intercept: number;
  weights: Float64Array;
  iterations: number;
}

export interface LogisticOptions {
  /** Penalty on the squared weights (never on the intercept). */
  l2: number;
  maxIterations?: number;
  /** Stop when the largest Newton step is below this. */
  tolerance?: number;
  /** Per-row weights, e.g. 0/1 to fit on a subset without copying the matrix. */
  sampleWeights?: Float64Array;
}

export function sigmoid(logit: number): number {
  return logit >= 0 ? 1 / (1 + Math.exp(-logit)) : Math.exp(logit) / (1 + Math.exp(logit));
}

/** Solves `A x = b` for a symmetric positive definite `A` (n × n, row-major); overwrites `A`. */
function choleskySolve(a: Float64Array, b: Float64Array, n: number): Float64Array {
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
  const x = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    let sum = x[i] as number;
    for (let k = 0; k < i; k++) sum -= (a[i * n + k] as number) * (x[k] as number);
    x[i] = sum / (a[i * n + i] as number);
  }
  for (let i = n - 1; i >= 0; i--) {
    let sum = x[i] as number;
    for (let k = i + 1; k < n; k++) sum -= (a[k * n + i] as number) * (x[k] as number);
    x[i] = sum / (a[i * n + i] as number);
  }
  return x;
}

/** Log loss summed over rows plus l2/2 · |w|², for coefficients `beta` (intercept first). */
function penalisedLoss(
  x: DesignMatrix,
  y: Float64Array,
  beta: Float64Array,
  l2: number,
  sampleWeights: Float64Array | undefined,
): number {
  let loss = 0;
  for (let r = 0; r < x.rows; r++) {
    const sampleWeight = sampleWeights === undefined ? 1 : (sampleWeights[r] as number);
    if (sampleWeight === 0) continue;
    let logit = beta[0] as number;
    const offset = r * x.columns;
    for (let c = 0; c < x.columns; c++) {
      logit += (beta[c + 1] as number) * (x.values[offset + c] as number);
    }
    // log(1 + e^z) - y z, computed without overflow.
    const softplus = logit > 0 ? logit + Math.log1p(Math.exp(-logit)) : Math.log1p(Math.exp(logit));
    loss += sampleWeight * (softplus - (y[r] as number) * logit);
  }
  for (let i = 1; i < beta.length; i++) loss += (l2 / 2) * (beta[i] as number) ** 2;
  return loss;
}

/**
 * Fits `P(y=1) = sigmoid(intercept + X w)` minimising log loss + l2/2 · |w|². Column 0 of the
 * internal system is the intercept.
 */
export function fitLogistic(
  x: DesignMatrix,
  y: Float64Array,
  options: LogisticOptions,
): LogisticFit {
  const { rows, columns, values } = x;
  const size = columns + 1;
  const maxIterations = options.maxIterations ?? 50;
  const tolerance = options.tolerance ?? 1e-10;
  const sampleWeights = options.sampleWeights;
  const beta = new Float64Array(size);
  const hessian = new Float64Array(size * size);
  const gradient = new Float64Array(size);
  const row = new Float64Array(size);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    hessian.fill(0);
    gradient.fill(0);
    for (let r = 0; r < rows; r++) {
      const sampleWeight = sampleWeights === undefined ? 1 : (sampleWeights[r] as number);
      if (sampleWeight === 0) continue;
      row[0] = 1;
      const offset = r * columns;
      let logit = beta[0] as number;
      for (let c = 0; c < columns; c++) {
        const value = values[offset + c] as number;
        row[c + 1] = value;
        logit += (beta[c + 1] as number) * value;
      }
      const p = sigmoid(logit);
      const residual = sampleWeight * ((y[r] as number) - p);
      const curvature = sampleWeight * p * (1 - p);
      for (let i = 0; i < size; i++) {
        const ri = row[i] as number;
        if (ri === 0) continue;
        gradient[i] = (gradient[i] as number) + residual * ri;
        const scaled = curvature * ri;
        const base = i * size;
        for (let j = 0; j <= i; j++)
          hessian[base + j] = (hessian[base + j] as number) + scaled * (row[j] as number);
      }
    }
    for (let i = 1; i < size; i++) {
      gradient[i] = (gradient[i] as number) - options.l2 * (beta[i] as number);
      hessian[i * size + i] = (hessian[i * size + i] as number) + options.l2;
    }
    for (let i = 0; i < size; i++) {
      for (let j = i + 1; j < size; j++) hessian[i * size + j] = hessian[j * size + i] as number;
    }
    const step = choleskySolve(hessian, gradient, size);
    // A full Newton step can overshoot far from the optimum (near-separable data): halve it
    // until the penalised loss does not get worse. Near the optimum the full step is taken.
    const before = penalisedLoss(x, y, beta, options.l2, sampleWeights);
    const candidate = new Float64Array(size);
    let scale = 1;
    for (let halvings = 0; ; halvings++) {
      for (let i = 0; i < size; i++)
        candidate[i] = (beta[i] as number) + scale * (step[i] as number);
      if (halvings >= 30 || penalisedLoss(x, y, candidate, options.l2, sampleWeights) <= before)
        break;
      scale /= 2;
    }
    let largest = 0;
    for (let i = 0; i < size; i++) {
      largest = Math.max(largest, Math.abs((candidate[i] as number) - (beta[i] as number)));
      beta[i] = candidate[i] as number;
    }
    if (largest < tolerance) {
      iterations++;
      break;
    }
  }
  return { intercept: beta[0] as number, weights: beta.slice(1), iterations };
}

export function predictLogits(x: DesignMatrix, fit: LogisticFit): Float64Array {
  const logits = new Float64Array(x.rows);
  for (let r = 0; r < x.rows; r++) {
    let logit = fit.intercept;
    const offset = r * x.columns;
    for (let c = 0; c < x.columns; c++) {
      logit += (fit.weights[c] as number) * (x.values[offset + c] as number);
    }
    logits[r] = logit;
  }
  return logits;
}
