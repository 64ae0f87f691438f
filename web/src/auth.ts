/**
 * The signed-in token. Kept in sessionStorage rather than localStorage: it is a bearer token valid
 * for weeks, and sessionStorage ends with the tab, so a shared or forgotten browser does not stay
 * signed in; opening the printed link again signs in again.
 */
const KEY = 'churnline.token';

export function readToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token.trim());
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}

/**
 * The user a token names (its `sub` claim), for display only: the signature is not checked here,
 * so this is what the token claims, never proof. The API verifies every request and stays the
 * authority on who is signed in. Null when the token is not a JWT with a string `sub`.
 */
export function tokenSubject(token: string): string | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '='));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    const sub = (claims as { sub?: unknown } | null)?.sub;
    return typeof sub === 'string' && sub !== '' ? sub : null;
  } catch {
    return null;
  }
}

/** What a sign-in link in the address bar came to. */
export type LinkSignIn =
  /** No `#token=` in the address. */
  | { kind: 'none' }
  /** The link's token is now the signed-in one (nobody was signed in, or it was already). */
  | { kind: 'signed-in' }
  /** The token could not be read (a broken `%` escape, or nothing after `#token=`): ignored. */
  | { kind: 'malformed' }
  /**
   * Someone else's token may be in the link: another token is signed in, and it stays until the
   * user chooses. Signing in from a link silently would let any page that links here with its
   * own token (login CSRF) make the user's next upload land in that token's account.
   */
  | { kind: 'choose'; token: string };

/**
 * Reads a token from the link `churnline serve` prints (/#token=...) and removes it from the
 * address bar and the history entry whatever it held, so it is not bookmarked or shared by
 * copying the URL. It is stored only when no other token is signed in; see LinkSignIn.
 */
export function takeTokenFromLocation(): LinkSignIn {
  const match = /^#token=([^&]*)/.exec(window.location.hash);
  if (!match) return { kind: 'none' };
  window.history.replaceState(
    window.history.state,
    '',
    window.location.pathname + window.location.search,
  );
  let token: string;
  try {
    token = decodeURIComponent(match[1] ?? '').trim();
  } catch {
    return { kind: 'malformed' };
  }
  if (!token) return { kind: 'malformed' };
  const current = readToken();
  if (current !== null && current !== token) return { kind: 'choose', token };
  saveToken(token);
  return { kind: 'signed-in' };
}
