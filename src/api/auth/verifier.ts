/**
 * Bearer token verification: the user id of a request is the `sub` of a JWT that passes every
 * check here. Two sources of keys: the data directory's own Ed25519 key (embedded default), or an
 * identity provider's JWKS URL (Clerk, Auth0, Cognito, ...).
 */
import {
  type CryptoKey,
  createRemoteJWKSet,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { isUserId } from '../../ids.js';
import { AuthError, AuthUnavailableError } from './errors.js';
import {
  LOCAL_ALGORITHM,
  LOCAL_AUDIENCE,
  LOCAL_ISSUER,
  loadLocalKey,
  MAX_LOCAL_TOKEN_TTL_SECONDS,
} from './local-key.js';
import { VerifiedTokens } from './verified-tokens.js';

/** Longer headers are refused before any parsing or key lookup. */
export const MAX_TOKEN_BYTES = 8 * 1024;
export const DEFAULT_JWKS_ALGORITHMS = ['RS256', 'ES256'] as const;
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;

/** Asymmetric algorithms only: with a public key set, HS* would let anyone holding it sign. */
const ASYMMETRIC_ALGORITHMS = new Set([
  ...['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
  ...['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'],
]);

export type AuthVerifierOptions =
  | {
      readonly mode: 'local';
      readonly dataDir: string;
      /** AUTH_KEY_FILE: a shared key pair's file (public half suffices) instead of the data directory's key. */
      readonly keyFile?: string | undefined;
      readonly clockToleranceSeconds?: number;
    }
  | {
      readonly mode: 'jwks';
      readonly jwksUrl: string;
      /** Compared exactly: Auth0's ends in "/", Clerk's and Cognito's do not. */
      readonly issuer: string;
      /** Accepted value(s) of the audience claim. */
      readonly audience: string | readonly string[];
      /**
       * Which claim carries the audience: `aud` (Auth0, Cognito ID tokens), `azp` (Clerk session
       * tokens, which name the frontend origin there) or `client_id` (Cognito access tokens).
       */
      readonly audienceClaim?: 'aud' | 'azp' | 'client_id';
      readonly algorithms?: readonly string[];
      readonly clockToleranceSeconds?: number;
      /** How long one key set fetch may take (default 5000 ms). */
      readonly jwksTimeoutMs?: number;
    };

export interface AuthenticatedUser {
  readonly userId: string;
}

export interface AuthVerifier {
  readonly mode: 'local' | 'jwks';
  /**
   * Verifies an Authorization header value (`Bearer <token>`) or a bare token. Rejects with an
   * AuthError (answer 401) or, when the key set cannot be fetched, an AuthUnavailableError (503).
   */
  verify(authorization: string | undefined): Promise<AuthenticatedUser>;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The token of a header value, checked for size and shape only. */
export function extractBearerToken(authorization: string | undefined): string {
  if (authorization === undefined || authorization.trim() === '') {
    throw new AuthError('missing', 'Send a token in an Authorization: Bearer <token> header.');
  }
  if (authorization.length > MAX_TOKEN_BYTES) {
    throw new AuthError('invalid', `The token is longer than ${MAX_TOKEN_BYTES} bytes.`);
  }
  if (/^Bearer$/i.test(authorization.trim())) {
    throw new AuthError('malformed', 'The Authorization header has no token after "Bearer".');
  }
  const bearer = /^Bearer +(\S+)$/i.exec(authorization.trim());
  const token = bearer?.[1] ?? authorization.trim();
  if (!bearer && /\s/.test(token)) {
    throw new AuthError('malformed', 'The Authorization header must be "Bearer <token>".');
  }
  if (!COMPACT_JWS.test(token)) {
    throw new AuthError('invalid', 'The token is not a signed JWT (header.payload.signature).');
  }
  return token;
}

const CLAIM_MESSAGES: Record<string, string> = {
  iss: 'The token was issued by another issuer.',
  aud: 'The token is meant for another audience.',
  azp: 'The token is meant for another audience.',
  client_id: 'The token is meant for another audience.',
  nbf: 'The token is not valid yet.',
  iat: 'The token was issued in the future.',
};

/** Turns a jose failure into a message that tells the client what is wrong and nothing more. */
function toAuthError(error: unknown): Error {
  if (error instanceof AuthError || error instanceof AuthUnavailableError) return error;
  const invalid = (message: string) => new AuthError('invalid', message, { cause: error });
  if (error instanceof errors.JWTExpired) return invalid('The token has expired.');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return invalid(`The token has no "${error.claim}" claim.`);
    return invalid(CLAIM_MESSAGES[error.claim] ?? `The token's "${error.claim}" claim is invalid.`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return invalid('The token is signed with an algorithm this service does not accept.');
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return invalid('The token is signed with a key this service does not know.');
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return invalid('The token signature is invalid.');
  }
  if (error instanceof errors.JOSEError) return invalid('The token is malformed.');
  // Not a verdict on the token (a bug, say): let it surface as a server error, not a 401.
  return error instanceof Error ? error : new Error(String(error));
}

function userOf(payload: JWTPayload): AuthenticatedUser {
  if (!isUserId(payload.sub)) {
    throw new AuthError('invalid', 'The token subject ("sub") is not a valid user id.');
  }
  return { userId: payload.sub };
}

function checkClockTolerance(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 300) {
    throw new RangeError('clockToleranceSeconds must be a whole number from 0 to 300');
  }
  return seconds;
}

/** A verifier for AUTH_KEY_FILE's key, or the data directory's own (created on first use). */
async function createLocalVerifier(
  options: Extract<AuthVerifierOptions, { mode: 'local' }>,
): Promise<AuthVerifier> {
  const { publicKey } = await loadLocalKey(options);
  const clockTolerance = checkClockTolerance(
    options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
  );
  const verified = new VerifiedTokens();
  return {
    mode: 'local',
    async verify(authorization) {
      try {
        const token = extractBearerToken(authorization);
        const known = verified.get(token);
        if (known) return known;
        const { payload } = await jwtVerify(token, publicKey as CryptoKey, {
          algorithms: [LOCAL_ALGORITHM],
          issuer: LOCAL_ISSUER,
          audience: LOCAL_AUDIENCE,
          clockTolerance,
          // Also makes jose check "iat": present, not in the future, and no older than a token
          // `churnline token create` can make.
          maxTokenAge: MAX_LOCAL_TOKEN_TTL_SECONDS,
          requiredClaims: ['sub', 'exp', 'iat'],
        });
        const user = userOf(payload);
        verified.remember(token, user, payload.exp);
        return user;
      } catch (error) {
        throw toAuthError(error);
      }
    },
  };
}

function createJwksVerifier(options: Extract<AuthVerifierOptions, { mode: 'jwks' }>): AuthVerifier {
  const url = new URL(options.jwksUrl);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new RangeError(`jwksUrl must be an http(s) URL; got ${options.jwksUrl}`);
  }
  const algorithms = [...(options.algorithms ?? DEFAULT_JWKS_ALGORITHMS)];
  const refused = algorithms.filter((alg) => !ASYMMETRIC_ALGORITHMS.has(alg));
  if (algorithms.length === 0 || refused.length > 0) {
    throw new RangeError(
      `algorithms must be asymmetric JWS algorithms (${[...ASYMMETRIC_ALGORITHMS].join(', ')}); refused: ${refused.join(', ') || 'an empty list'}`,
    );
  }
  const audiences =
    typeof options.audience === 'string' ? [options.audience] : [...options.audience];
  if (!options.issuer || audiences.length === 0 || audiences.some((a) => !a)) {
    throw new RangeError('issuer and audience must be non-empty');
  }
  const audienceClaim = options.audienceClaim ?? 'aud';
  const clockTolerance = checkClockTolerance(
    options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
  );
  const remote = createRemoteJWKSet(url, { timeoutDuration: options.jwksTimeoutMs ?? 5000 });
  // A key set that does not load says nothing about the token: report it apart from bad tokens.
  const getKey: JWTVerifyGetKey<CryptoKey> = async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey) throw error;
      if (error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw new AuthUnavailableError(
        "Cannot check tokens right now: the identity provider's key set did not load. Try again shortly.",
        { cause: error },
      );
    }
  };
  const verified = new VerifiedTokens();
  return {
    mode: 'jwks',
    async verify(authorization) {
      try {
        const token = extractBearerToken(authorization);
        const known = verified.get(token);
        if (known) return known;
        const { payload } = await jwtVerify(token, getKey, {
          algorithms,
          issuer: options.issuer,
          ...(audienceClaim === 'aud' ? { audience: audiences } : {}),
          clockTolerance,
          requiredClaims: ['sub', 'exp', ...(audienceClaim === 'aud' ? [] : [audienceClaim])],
        });
        if (audienceClaim !== 'aud' && !audiences.includes(payload[audienceClaim] as string)) {
          throw new AuthError('invalid', 'The token is meant for another audience.');
        }
        const user = userOf(payload);
        verified.remember(token, user, payload.exp);
        return user;
      } catch (error) {
        throw toAuthError(error);
      }
    },
  };
}

/** Builds the configured verifier; in local mode this creates the key on first start. */
export async function createAuthVerifier(options: AuthVerifierOptions): Promise<AuthVerifier> {
  return options.mode === 'local' ? createLocalVerifier(options) : createJwksVerifier(options);
}
