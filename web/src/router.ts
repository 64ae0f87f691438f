import { useEffect, useState } from 'preact/hooks';

/**
 * Client routes: real paths (the API answers them with index.html), so links can be shared.
 *
 * - `/` predictions and the upload panel
 * - `/predictions/<id>` a prediction's results
 * - `/uploads/<id>?model=<model>` checking an upload's columns against a model, then scoring it
 * - `/uploads/<id>/train` training a model on an upload
 * - `/models` the models you can score with
 * - `/models/<id>?upload=<upload>` a model's card (and its training progress); the upload, when
 *   named, is the file its "score" button scores
 * - `/playbook` the recommended actions
 * - `/customers/<id>?model=<model>` one customer's scores over time (the id URL-encoded)
 * - `/webhooks` the endpoints notified of predictions, and their delivery logs
 * - `/usage` what the account uses of its quotas, and its uploads to delete
 */
export type Route =
  | { page: 'list' }
  | { page: 'prediction'; id: string }
  | { page: 'upload'; id: string; modelId: string | null }
  | { page: 'train'; uploadId: string }
  | { page: 'models' }
  | { page: 'model'; id: string; uploadId: string | null }
  | { page: 'playbook' }
  | { page: 'customer'; id: string; modelId: string | null }
  | { page: 'webhooks' }
  | { page: 'usage' };

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** Shipped model names (telco-v1) and trained models' ids. */
const MODEL_ID = '[\\w.-]{1,64}';

export function parseRoute(pathname: string, search = ''): Route {
  const query = new URLSearchParams(search);
  const uuidParam = (name: string) => {
    const value = query.get(name);
    return value && new RegExp(`^${UUID}$`, 'i').test(value) ? value : null;
  };
  const match = (pattern: string) => new RegExp(`^${pattern}/?$`, 'i').exec(pathname);
  let found = match(`/predictions/(${UUID})`);
  if (found?.[1]) return { page: 'prediction', id: found[1] };
  found = match(`/uploads/(${UUID})/train`);
  if (found?.[1]) return { page: 'train', uploadId: found[1] };
  found = match(`/uploads/(${UUID})`);
  if (found?.[1]) {
    const model = query.get('model');
    return {
      page: 'upload',
      id: found[1],
      modelId: model && new RegExp(`^${MODEL_ID}$`).test(model) ? model : null,
    };
  }
  found = match('/customers/([^/]+)');
  if (found?.[1]) {
    const id = decoded(found[1]);
    const model = query.get('model');
    if (id) {
      return {
        page: 'customer',
        id,
        modelId: model && new RegExp(`^${MODEL_ID}$`).test(model) ? model : null,
      };
    }
  }
  if (match('/models')) return { page: 'models' };
  if (match('/playbook')) return { page: 'playbook' };
  if (match('/webhooks')) return { page: 'webhooks' };
  if (match('/usage')) return { page: 'usage' };
  found = match(`/models/(${MODEL_ID})`);
  if (found?.[1]) return { page: 'model', id: found[1], uploadId: uuidParam('upload') };
  return { page: 'list' };
}

/** A path segment as typed; null for a broken escape such as "%E0%A4%A". */
function decoded(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** The customer page's address for a customer id (any characters). */
export function customerPath(id: string, modelId?: string): string {
  const base = `/customers/${encodeURIComponent(id)}`;
  return modelId ? `${base}?model=${encodeURIComponent(modelId)}` : base;
}

/** Where the address bar is: path and query (the fragment is only ever a sign-in link). */
function here(): string {
  return window.location.pathname + window.location.search;
}

export function navigate(path: string): void {
  if (path === here()) return;
  window.history.pushState(null, '', path);
  window.dispatchEvent(new PopStateEvent('popstate'));
  window.scrollTo(0, 0);
}

/** Changes the address without a new history entry or a new render (a choice made on a page). */
export function replaceAddress(path: string): void {
  if (path !== here()) window.history.replaceState(window.history.state, '', path);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() =>
    parseRoute(window.location.pathname, window.location.search),
  );
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.pathname, window.location.search));
    window.addEventListener('popstate', update);
    return () => window.removeEventListener('popstate', update);
  }, []);
  return route;
}

/** A same-origin link that changes route without reloading; modified clicks open as usual. */
export function onLinkClick(event: MouseEvent): void {
  const anchor = event.currentTarget as HTMLAnchorElement;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey)
    return;
  event.preventDefault();
  navigate(anchor.pathname + anchor.search);
}
