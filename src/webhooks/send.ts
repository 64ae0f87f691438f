/**
 * One delivery attempt over HTTP: a POST to the address target.ts checked (connected to by
 * address, so no second DNS answer is ever used), with the Host header and TLS server name of the URL, no redirects followed, at most
 * 64 KiB of the answer read and 10 s for all of it. Never throws for what the receiver does: every
 * outcome is a result for the delivery log.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { type Address, hostOf } from './target.js';

export const ATTEMPT_TIMEOUT_MS = 10_000;
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface AttemptResult {
  /** A 2xx answer: delivered. */
  readonly ok: boolean;
  /** The receiver's HTTP status, when it answered. */
  readonly status: number | null;
  /** Why it did not count as delivered, for the delivery log; null when it did. */
  readonly error: string | null;
}

export async function postWebhook(request: {
  url: URL;
  address: Address;
  headers: Record<string, string>;
  body: string;
  timeoutMs?: number;
  /** Aborts the attempt early (the worker lost its lease or is shutting down). */
  signal?: AbortSignal;
}): Promise<AttemptResult> {
  const { url, address, body } = request;
  const timeoutMs = request.timeoutMs ?? ATTEMPT_TIMEOUT_MS;
  const host = hostOf(url);
  const client = url.protocol === 'https:' ? https : http;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
  return new Promise<AttemptResult>((resolve) => {
    const done = (result: AttemptResult) => resolve(result);
    const req = client.request(
      {
        method: 'POST',
        // The checked address itself: no name is looked up again between the check and here.
        host: address.address,
        family: address.family,
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        // SNI and the certificate check use the URL's name, not the address connected to.
        ...(url.protocol === 'https:' && isIP(host) === 0 ? { servername: host } : {}),
        headers: {
          host: url.host,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Churnline-Webhooks/1.0',
          ...request.headers,
        },
        agent: false,
        signal,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let read = 0;
        const finish = () => {
          res.destroy();
          const ok = status >= 200 && status < 300;
          const text = Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim();
          done({
            ok,
            status,
            error: ok
              ? null
              : status >= 300 && status < 400
                ? `HTTP ${status}: redirects are not followed; register the final URL`
                : `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`,
          });
        };
        res.on('data', (chunk: Buffer) => {
          if (read < MAX_RESPONSE_BYTES) chunks.push(chunk.subarray(0, MAX_RESPONSE_BYTES - read));
          read += chunk.length;
          if (read >= MAX_RESPONSE_BYTES) finish();
        });
        res.on('end', finish);
        res.on('error', () => finish());
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      done({
        ok: false,
        status: null,
        error: timeout.aborted
          ? `no answer within ${timeoutMs / 1000} s`
          : signal.aborted
            ? 'the attempt was interrupted (the worker stopped)'
            : `could not connect to ${url.host} (${error.code ?? error.message})`,
      });
    });
    req.end(body);
  });
}
