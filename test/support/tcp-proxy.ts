/**
 * A TCP proxy the test controls, in front of a server the service talks to (fauxqs, PostgreSQL):
 * `outage()` drops every connection and refuses new ones, as a server that went away does, until
 * `restore()` listens on the same port again.
 */
import net from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** The local ports of the connections to the upstream server (as the server sees clients). */
  upstreamPorts(): number[];
  outage(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(upstream: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<{ client: net.Socket; server: net.Socket }>();
  const server = net.createServer((client) => {
    const upstreamSocket = net.connect(upstream);
    const pair = { client, server: upstreamSocket };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstreamSocket.destroy();
    };
    client.on('error', end).on('close', end);
    upstreamSocket.on('error', end).on('close', end);
    client.pipe(upstreamSocket);
    upstreamSocket.pipe(client);
  });
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const pair of pairs) {
        pair.client.destroy();
        pair.server.destroy();
      }
      pairs.clear();
    });
  const port = await listen(0);
  return {
    port,
    upstreamPorts: () =>
      [...pairs].flatMap((pair) => (pair.server.localPort ? [pair.server.localPort] : [])),
    outage: stopListening,
    async restore() {
      await listen(port);
    },
    close: stopListening,
  };
}
