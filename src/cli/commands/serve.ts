import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { createApp } from '../../app.js';
import { parseConfig } from '../../config/index.js';
import { createLogger } from '../../log.js';

const PURGE_INTERVAL_MS = 60_000;

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the service on the embedded default (SQLite queue in the data directory).')
    .action(async () => {
      const config = parseConfig(process.env);
      const log = createLogger(config.logLevel);
      const app = await createApp(config, log);

      // Retention: expired messages are removed from the queue and its DLQ.
      const purge = async () => {
        const { removed } = await app.queue.purgeExpired();
        if (removed > 0) log.info({ removed }, 'removed messages past their retention');
      };
      await purge();
      const purgeTimer = setInterval(() => {
        purge().catch((error) => log.error({ err: error }, 'purging expired messages failed'));
      }, PURGE_INTERVAL_MS);

      const server = createServer((req, res) => {
        if (req.method === 'GET' && (req.url === '/healthz' || req.url === '/readyz')) {
          app.queue.stats().then(
            (queue) => {
              res.writeHead(200, { 'content-type': 'application/json' });
              res.end(JSON.stringify({ status: 'ok', queue }));
            },
            (error: unknown) => {
              log.error({ err: error }, 'health check failed');
              res.writeHead(503, { 'content-type': 'application/json' });
              res.end(
                JSON.stringify({ error: { code: 'unavailable', message: 'queue unavailable' } }),
              );
            },
          );
          return;
        }
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'not_found', message: 'No such route.' } }));
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.http.port, config.http.host, resolve);
      });
      const { port } = server.address() as AddressInfo;
      log.info(
        { dataDir: config.dataDir },
        `Churnline is listening on http://${config.http.host}:${port}`,
      );

      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info({ signal }, 'shutting down');
          resolve();
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      clearInterval(purgeTimer);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
    });
}
