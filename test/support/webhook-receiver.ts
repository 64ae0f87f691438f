import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** Date.now() when the request ended. */
  readonly at: number;
}

/** A local HTTP server standing in for a user's webhook receiver; it records every request. */
export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReceivedWebhook[];
  /** The status the next requests get (200 by default); a function decides per request. */
  respond: (request: ReceivedWebhook) => number;
  /** Resolves with the first request (after those already seen, from `from`) that matches. */
  next(
    match: (request: ReceivedWebhook) => boolean,
    timeoutMs?: number,
    from?: number,
  ): Promise<ReceivedWebhook>;
  close(): Promise<void>;
  /** Listens again on the same port (after close: a receiver that was down comes back). */
  reopen(): Promise<void>;
}

export async function startWebhookReceiver(port = 0): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let server: Server;
  let boundPort = port;
  const receiver: WebhookReceiver = {
    url: '',
    received,
    respond: () => 200,
    async next(match, timeoutMs = 10_000, from = 0) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = received.slice(from).find(match);
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(
            `no matching webhook within ${timeoutMs} ms (${received.length} received)`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    reopen: () => listen(),
  };
  async function listen(): Promise<void> {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const hook = {
          headers: request.headers,
          body: Buffer.concat(chunks).toString(),
          at: Date.now(),
        };
        received.push(hook);
        response.writeHead(receiver.respond(hook), { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(boundPort, '127.0.0.1', resolve));
    boundPort = (server.address() as AddressInfo).port;
    (receiver as { url: string }).url = `http://127.0.0.1:${boundPort}`;
  }
  await listen();
  return receiver;
}

/**
 * Verifies a request as the Standard Webhooks specification says a receiver must, written here
 * from the specification (not from src/webhooks): any of the space-separated `v1,` signatures
 * must equal base64(HMAC-SHA256(base64-decoded secret after "whsec_", "id.timestamp.body")).
 */
export function verifiesWith(secret: string, hook: ReceivedWebhook): boolean {
  const id = String(hook.headers['webhook-id']);
  const timestamp = String(hook.headers['webhook-timestamp']);
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key)
    .update(`${id}.${timestamp}.${hook.body}`)
    .digest('base64');
  const given = String(hook.headers['webhook-signature'] ?? '').split(' ');
  const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
  return fresh && given.some((signature) => signature === `v1,${expected}`);
}
