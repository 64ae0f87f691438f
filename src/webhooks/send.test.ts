import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postWebhook } from './send.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<URL> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return new URL(`http://hooks.example.com:${(server.address() as AddressInfo).port}/in?x=1`);
}

const loopback = { address: '127.0.0.1', family: 4 } as const;

describe('postWebhook', () => {
  it('connects to the checked address with the URL host as Host, and posts the body', async () => {
    let seen: { host?: string; url?: string; body: string } = { body: '' };
    const url = await serve((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        seen = { host: request.headers.host, url: request.url, body };
        response.writeHead(204).end();
      });
    });
    // hooks.example.com does not resolve here: only the checked address is ever used.
    const result = await postWebhook({
      url,
      address: loopback,
      headers: { 'webhook-id': 'msg_1' },
      body: '{"a":1}',
    });
    expect(result).toEqual({ ok: true, status: 204, error: null });
    expect(seen).toEqual({ host: url.host, url: '/in?x=1', body: '{"a":1}' });
  });

  it('follows no redirect and says so', async () => {
    const url = await serve((_request, response) =>
      response.writeHead(302, { location: 'http://169.254.169.254/' }).end(),
    );
    expect(await postWebhook({ url, address: loopback, headers: {}, body: '{}' })).toEqual({
      ok: false,
      status: 302,
      error: 'HTTP 302: redirects are not followed; register the final URL',
    });
  });

  it('reads at most 64 KiB of an endless answer, and gives up on a silent receiver', async () => {
    const url = await serve((request, response) => {
      if (request.url?.startsWith('/silent')) return; // never answers
      response.writeHead(500);
      const chunk = Buffer.alloc(16 * 1024, 'x');
      const pump = () => {
        while (response.write(chunk)) {}
      };
      response.on('drain', pump);
      pump();
    });
    const endless = await postWebhook({ url, address: loopback, headers: {}, body: '{}' });
    expect(endless).toMatchObject({ ok: false, status: 500 });
    expect(endless.error).toMatch(/^HTTP 500: x{200}$/);
    const silent = new URL(url);
    silent.pathname = '/silent';
    const started = Date.now();
    expect(
      await postWebhook({
        url: silent,
        address: loopback,
        headers: {},
        body: '{}',
        timeoutMs: 300,
      }),
    ).toEqual({ ok: false, status: null, error: 'no answer within 0.3 s' });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
