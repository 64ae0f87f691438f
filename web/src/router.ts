import { useEffect, useState } from 'preact/hooks';

/** Client routes: real paths (the API answers them with index.html), so links can be shared. */
export type Route = { page: 'list' } | { page: 'prediction'; id: string };

export function parseRoute(pathname: string): Route {
  const match = /^\/predictions\/([0-9a-f-]{36})\/?$/i.exec(pathname);
  return match?.[1] ? { page: 'prediction', id: match[1] } : { page: 'list' };
}

export function navigate(path: string): void {
  if (path === window.location.pathname) return;
  window.history.pushState(null, '', path);
  window.dispatchEvent(new PopStateEvent('popstate'));
  window.scrollTo(0, 0);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.pathname));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.pathname));
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
  navigate(anchor.pathname);
}
