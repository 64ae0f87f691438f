import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDashboardRoute, registerWebRoutes, sendDashboard } from './routes.js';

/** A Fastify app with the dashboard routes and the same not-found fallback as the API server. */
function dashboardServer(webRoot: string): FastifyInstance {
  const app = Fastify();
  registerWebRoutes(app, webRoot);
  app.get('/v1/things', async () => ({ things: [] }));
  app.setNotFoundHandler((request, reply) => {
    if (isDashboardRoute(request)) return sendDashboard(reply, webRoot);
    return reply.code(404).send({ error: { code: 'not_found', message: 'no route' } });
  });
  return app;
}

const html = { accept: 'text/html,application/xhtml+xml' };

describe('the dashboard files', () => {
  let root: string;
  let app: FastifyInstance;
  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'churnline-web-'));
    mkdirSync(path.join(root, 'assets'));
    writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>Churnline</title>');
    writeFileSync(path.join(root, 'assets', 'index-AbC123.js'), 'console.log(1);');
    writeFileSync(path.join(root, 'secret.txt'), 'not an asset');
    app = dashboardServer(root);
  });
  afterAll(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves index.html at / for revalidation every time, allowing only this origin', async () => {
    const response = await app.inject({ url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-cache');
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
    expect(response.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(response.body).toContain('<title>Churnline</title>');
  });

  it('serves hashed assets with a year-long immutable cache', async () => {
    const response = await app.inject({ url: '/assets/index-AbC123.js' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(response.body).toBe('console.log(1);');
  });

  it('answers 404 for unknown assets and for paths that try to leave assets/', async () => {
    for (const url of [
      '/assets/missing-1.js',
      '/assets/..%2Fsecret.txt',
      '/assets/../secret.txt',
      '/assets/sub/x.js',
    ]) {
      const response = await app.inject({ url, headers: { accept: '*/*' } });
      expect(response.statusCode, url).toBe(404);
      expect(response.body, url).not.toContain('not an asset');
    }
  });

  it('answers browser navigations to client routes with the app, and API misses with JSON', async () => {
    const route = await app.inject({
      url: '/predictions/0b6d7a52-3d1c-4c38-9d55-1d8e0e6f2d11',
      headers: html,
    });
    expect(route.statusCode).toBe(200);
    expect(route.body).toContain('<title>Churnline</title>');

    const api = await app.inject({ url: '/v1/nothing-here', headers: html });
    expect(api.statusCode).toBe(404);
    expect(api.json()).toMatchObject({ error: { code: 'not_found' } });

    const fetchCall = await app.inject({
      url: '/predictions/x',
      headers: { accept: 'application/json' },
    });
    expect(fetchCall.statusCode).toBe(404);

    const post = await app.inject({ method: 'POST', url: '/predictions/x', headers: html });
    expect(post.statusCode).toBe(404);
  });
});

describe('a checkout whose dashboard was never built', () => {
  it('says at / how to build it instead of failing obscurely', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'churnline-web-empty-'));
    const app = dashboardServer(empty);
    try {
      const response = await app.inject({ url: '/' });
      expect(response.statusCode).toBe(503);
      expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(response.body).toContain('npm run build');
      expect((await app.inject({ url: '/v1/things' })).statusCode).toBe(200);
    } finally {
      await app.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
