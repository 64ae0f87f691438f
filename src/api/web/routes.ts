import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from '../errors.js';

/** web/dist of this checkout, whether the server runs from src/ (tsx) or from dist/ (built). */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

/**
 * The dashboard may only talk to this origin: a stray third-party URL (a CDN, a web font) is
 * refused by the browser itself, so customer data never leaves the machine by accident.
 * Styles set from script (element.style) are allowed by 'self'; inline <style> is not needed.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self'",
  "script-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT =
  'The Churnline dashboard has not been built in this checkout (web/dist is missing).\n' +
  'Run `npm run build` (or `npm ci`, which builds it), then reload this page.\n' +
  'The API itself is running: see /docs for its reference.\n';

/** Paths the dashboard never owns: an unknown one answers the API's JSON 404, not the app. */
const API_PREFIXES = ['/v1/', '/v1?', '/docs', '/assets/', '/healthz', '/readyz', '/metrics'];

/**
 * Serves the built dashboard: index.html at / (and at client routes, see isDashboardRoute),
 * content-hashed files under /assets/ with a year-long immutable cache.
 */
export function registerWebRoutes(app: FastifyInstance, webRoot = DEFAULT_WEB_ROOT): void {
  app.get('/', { schema: { hide: true } }, (_request, reply) => sendDashboard(reply, webRoot));

  app.get('/assets/*', { schema: { hide: true } }, async (request, reply) => {
    const name = (request.params as { '*': string })['*'];
    const type = CONTENT_TYPES[path.extname(name)];
    // Vite names every asset <name>-<hash>.<ext> in one flat folder: anything else is not ours.
    const file = path.join(webRoot, 'assets', name);
    if (!/^[\w.-]+$/.test(name) || type === undefined || !(await isFile(file))) {
      return reply.code(404).send(errorBody('not_found', `No dashboard asset ${name}.`));
    }
    return reply
      .type(type)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(createReadStream(file));
  });
}

/** A browser navigating to a client route (/predictions/<id>) gets the app, which routes it. */
export function isDashboardRoute(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  if (API_PREFIXES.some((prefix) => request.url.startsWith(prefix))) return false;
  return (request.headers.accept ?? '').includes('text/html');
}

export async function sendDashboard(reply: FastifyReply, webRoot = DEFAULT_WEB_ROOT) {
  let html: string;
  try {
    // Read per request: it is small, and a rebuild is picked up without a restart.
    html = await readFile(path.join(webRoot, 'index.html'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return reply
      .code(503)
      .type('text/plain; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(NOT_BUILT);
  }
  return (
    reply
      .type('text/html; charset=utf-8')
      // index.html names the current hashed assets, so it must be revalidated every time.
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('referrer-policy', 'no-referrer')
      .header('x-content-type-options', 'nosniff')
      .send(html)
  );
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
