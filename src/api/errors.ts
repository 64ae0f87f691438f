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
  ) {
    super(message);
  }
}

export const notFound = (what: string) =>
  new ApiError(404, 'not_found', `No ${what} with that id exists for your account.`);

export interface ErrorBody {
  error: { code: string; message: string };
}

export const errorBody = (code: string, message: string): ErrorBody => ({
  error: { code, message },
});
