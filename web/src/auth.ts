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
 * Takes a token from the link `churnline serve` prints (/#token=...), stores it and removes it
 * from the address bar and the history entry, so it is not bookmarked or shared by copying the URL.
 */
export function takeTokenFromLocation(): boolean {
  const match = /^#token=([^&]+)/.exec(window.location.hash);
  if (!match?.[1]) return false;
  saveToken(decodeURIComponent(match[1]));
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
  return true;
}
