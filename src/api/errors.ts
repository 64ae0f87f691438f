/**
 * The one HTTP error type: a status, a stable machine-readable code and a message that says what
 * was wrong and how to fix it. Sent as { "error": { "code", "message" } }.
 */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
    /** Machine-readable facts beside code and message (a quota's name, limit and use). */
    readonly detail: { readonly quota?: QuotaDetail } = {},
  ) {
    super(message);
  }
}

/**
 * Which per-user limit refused a request, its value and the user's use (null where a count means
 * nothing, as for a rate); `resetsAt` when waiting until then lifts it.
 */
export interface QuotaDetail {
  readonly name: 'stored_bytes' | 'uploads_per_day' | 'active_jobs' | 'requests_per_second';
  readonly limit: number;
  readonly used: number | null;
  /** What the refused request would have added (an upload's bytes, when known). */
  readonly requested?: number;
  readonly resetsAt?: string;
}

export const notFound = (what: string) =>
  new ApiError(404, 'not_found', `No ${what} with that id exists for your account.`);

export interface ErrorBody {
  error: { code: string; message: string; quota?: QuotaDetail };
}

export const errorBody = (
  code: string,
  message: string,
  detail: { readonly quota?: QuotaDetail } = {},
): ErrorBody => ({
  error: { code, message, ...detail },
});
