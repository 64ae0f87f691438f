import { ApiError } from '../errors.js';

/**
 * Why a request is not authenticated, in RFC 6750 terms: no credentials at all (`missing`, the
 * challenge then carries no error code), an Authorization header that is not a bearer token
 * (`malformed` = invalid_request), or a token that fails verification (`invalid` = invalid_token).
 */
export type AuthFailure = 'missing' | 'malformed' | 'invalid';

/** The request is not authenticated. The message is safe to send to the client as it is. */
export class AuthError extends Error {
  override name = 'AuthError';
  constructor(
    readonly failure: AuthFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Tokens cannot be checked right now because the identity provider's key set did not load (down,
 * slow, or answering garbage). The token may be fine, so this is a 503, never a 401.
 */
export class AuthUnavailableError extends Error {
  override name = 'AuthUnavailableError';
}

const RFC6750_ERROR: Record<AuthFailure, string | undefined> = {
  missing: undefined,
  malformed: 'invalid_request',
  invalid: 'invalid_token',
};

/** The WWW-Authenticate value a 401 carries (RFC 6750 section 3). */
export function wwwAuthenticate(error?: AuthError): string {
  const code = error ? RFC6750_ERROR[error.failure] : undefined;
  if (!code || !error) return 'Bearer realm="churnline"';
  const description = error.message.replace(/["\\]/g, "'");
  return `Bearer realm="churnline", error="${code}", error_description="${description}"`;
}

/**
 * The HTTP answer for a failed authentication: 401 `unauthorized` with the challenge header, or
 * 503 `auth_unavailable` when the key set could not be loaded. Anything else is not ours: undefined.
 */
export function authFailureToApiError(error: unknown): ApiError | undefined {
  if (error instanceof AuthError) {
    return new ApiError(401, 'unauthorized', error.message, {
      'WWW-Authenticate': wwwAuthenticate(error),
    });
  }
  if (error instanceof AuthUnavailableError) {
    return new ApiError(503, 'auth_unavailable', error.message, { 'Retry-After': '5' });
  }
  return undefined;
}
