import { fitPacked, packDense, sigmoid } from './logistic.js';

/** Platt scaling: calibrated probability = sigmoid(slope · logit + intercept). */
export interface PlattCalibration {
  method: 'platt';
  slope: number;
  intercept: number;
}

/**
 * Fits Platt scaling on out-of-fold logits, so the calibration corrects the shrinkage that the
 * L2 penalty puts on the model's own logits without ever seeing a row's own prediction.
 */
export function fitPlatt(
  logits: Float64Array,
  labels: Float64Array,
  /** Only these rows (all when absent), so cross-calibration needs no copies. */
  rows?: Int32Array,
): PlattCalibration {
  // Out-of-fold logits are nearly calibrated already: start from the identity.
  const beta = fitPacked(packDense({ rows: logits.length, columns: 1, values: logits }), labels, {
    l2: 0,
    start: Float64Array.of(0, 1),
    ...(rows ? { rows } : {}),
  });
  return { method: 'platt', slope: beta[1] as number, intercept: beta[0] as number };
}

export function calibrate(logit: number, calibration: PlattCalibration): number {
  return sigmoid(calibration.slope * logit + calibration.intercept);
}
