import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK } from 'jose';

export interface SigningPair {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

export async function signingPair(alg: string, kid: string): Promise<SigningPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicKey };
}

export interface JwksServer {
  readonly url: string;
  /** Requests the server has answered, to show when a key set was (not) fetched. */
  readonly requests: () => number;
  /** Makes the server answer every request with this status and a non-JWKS body. */
  failWith(status: number | undefined): void;
  close(): Promise<void>;
}

/**
 * A real JWKS endpoint on 127.0.0.1 and a random port, serving the public halves of `pairs` as an
 * identity provider does (`alg` and `use` set on RSA keys, left out on EC keys as some providers do).
 */
export async function startJwksServer(pairs: readonly SigningPair[]): Promise<JwksServer> {
  const keys: JWK[] = [];
  for (const pair of pairs) {
    const jwk = await exportJWK(pair.publicKey);
    keys.push(
      jwk.kty === 'RSA'
        ? { ...jwk, kid: pair.kid, alg: pair.alg, use: 'sig' }
        : { ...jwk, kid: pair.kid },
    );
  }
  let requests = 0;
  let failure: number | undefined;
  const server: Server = createServer((_request, response) => {
    requests++;
    if (failure !== undefined) {
      response.writeHead(failure, { 'content-type': 'text/html' }).end('<h1>down</h1>');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    requests: () => requests,
    failWith: (status) => {
      failure = status;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
