import { createHash } from 'node:crypto';

/**
 * The job every system carries: shaped like Churnline's real prediction job message and
 * serialised to about 200 bytes, so that no system wins by moving smaller bodies.
 */
export interface JobPayload {
  readonly predictionId: string;
  readonly userId: string;
  readonly uploadKey: string;
  readonly modelVersion: string;
  readonly submittedAt: string;
  readonly signature: string;
}

export function makeJob(index: number): JobPayload {
  const predictionId = `pred_${index.toString(36).padStart(10, '0')}`;
  const userId = `user_${(index % 97).toString().padStart(4, '0')}`;
  return {
    predictionId,
    userId,
    uploadKey: `users/${userId}/uploads/${predictionId}.csv`,
    modelVersion: 'telco-v3',
    submittedAt: new Date(Date.UTC(2026, 10, 29, 6, 0, 0, index % 1000)).toISOString(),
    signature: createHash('sha256').update(predictionId).digest('base64url').slice(0, 24),
  };
}

export function makeJobs(count: number, offset = 0): JobPayload[] {
  return Array.from({ length: count }, (_, i) => makeJob(offset + i));
}
