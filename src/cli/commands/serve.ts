import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { createLocalToken } from '../../api/auth/local-key.js';
import type { Role } from '../../app.js';
import { parseConfig } from '../../config/index.js';
import { runProcessAsBatchWork } from '../../jobs/priority.js';
import { createLogger } from '../../log.js';
import { UsageError } from '../errors.js';

const PURGE_INTERVAL_MS = 60_000;
const DEMO_USER = 'local-user';

function parseRoles(value: string): Role[] {
  const roles = value.split(',').map((r) => r.trim());
  for (const role of roles) {
    if (role !== 'api' && role !== 'worker') {
      throw new UsageError(
        `--roles takes api, worker or api,worker; got ${JSON.stringify(value)}.`,
      );
    }
  }
  return [...new Set(roles)] as Role[];
}

/** Why the API could not listen, and what to change. */
function listenProblem(error: unknown, http: { host: string; port: number }): string {
  const where = `${http.host}:${http.port}`;
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return `cannot listen on ${where}: the port is in use. Set PORT to a free port, or stop what is using it.`;
    case 'EACCES':
      return `cannot listen on ${where}: not allowed (ports below 1024 need privileges). Set PORT to 1024 or above.`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: ${http.host} is not an address of this machine. Set HOST to one that is (0.0.0.0 for all).`;
    default:
      return `cannot listen on ${where}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** What is not working, one backend a line, for the banner; empty when everything works. */
function notWorking(failing: readonly { backend: string; detail?: string }[]): string {
  return failing.map((status) => `  - ${status.backend}: ${status.detail ?? 'failing'}\n`).join('');
}

/** Runs the roles until SIGTERM or SIGINT, then drains and exits 0. */
async function run(roles: Role[]): Promise<void> {
  // Batch work beside an API process on the same machine: see src/jobs/priority.ts.
  if (!roles.includes('api')) runProcessAsBatchWork();
  const config = parseConfig(process.env);
  const log = createLogger(config.logLevel);
  // Imported here so that other commands (score, train, ...) do not load the server.
  const { createApp } = await import('../../app.js');
  const app = await createApp(config, log, roles);

  // Retention: expired messages are removed from the queue and its DLQ.
  const purge = () =>
    app.queue.purgeExpired().then(
      ({ removed }) =>
        removed > 0 && log.info({ removed }, 'removed messages past their retention'),
      (error: unknown) => log.error({ err: error }, 'purging expired messages failed'),
    );
  await purge();
  const purgeTimer = setInterval(purge, PURGE_INTERVAL_MS);
  purgeTimer.unref();

  await app.start();
  if (app.server) {
    try {
      await app.server.listen({ host: config.http.host, port: config.http.port });
    } catch (error) {
      // The worker has started already: stop everything, or the process would live on as a
      // hidden worker taking jobs.
      clearInterval(purgeTimer);
      await app.close();
      throw new UsageError(listenProblem(error, config.http));
    }
    const { port } = app.server.server.address() as AddressInfo;
    const url = `http://${config.http.host}:${port}`;
    log.info(
      { dataDir: config.dataDir, roles, signingKeys: app.signingKeys },
      `Churnline is listening on ${url}`,
    );
    const failing = notWorking(app.dependencies.failing);
    if (failing) {
      log.error(
        { failing: app.dependencies.failing },
        `Churnline started, but is not working yet (${url}/readyz answers 503 until fixed; checked again every minute):\n${failing}`,
      );
    }
    const token =
      config.auth.mode === 'local' && config.auth.keyFile === undefined
        ? await createLocalToken({
            dataDir: config.dataDir,
            userId: DEMO_USER,
            ttlSeconds: 30 * 24 * 3600,
          })
        : undefined;
    process.stdout.write(
      (failing
        ? `\nChurnline started at ${url}, but is not working yet (${url}/readyz answers 503 until this is fixed):\n${failing}`
        : `\nChurnline is running at ${url} (API docs: ${url}/docs)\n`) +
        (token
          ? // A fragment, not a query: browsers never send it, so the token stays out of logs.
            `Dashboard (signs you in): ${url}/#token=${token}\n` +
            `A token for user "${DEMO_USER}", valid 30 days (make others with: churnline token create --user <id>):\n\n` +
            `  export CHURNLINE_TOKEN=${token}\n` +
            `  curl -H "Authorization: Bearer $CHURNLINE_TOKEN" -F file=@customers.csv ${url}/v1/uploads\n\n`
          : config.auth.mode === 'local'
            ? `Tokens: churnline token create --user <id> --key <private.jwk> where the private key of AUTH_KEY_FILE is kept\n`
            : `Tokens: from your identity provider (AUTH_JWKS_URL)\n`),
    );
  } else {
    const failing = notWorking(app.dependencies.failing);
    if (failing)
      log.error(
        { dataDir: config.dataDir, roles, signingKeys: app.signingKeys },
        `Churnline worker started, but is not working yet (checked again every minute):\n${failing}`,
      );
    else
      log.info(
        { dataDir: config.dataDir, roles, signingKeys: app.signingKeys },
        'Churnline worker is running',
      );
  }

  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal }, 'shutting down: no new jobs, finishing running ones');
  clearInterval(purgeTimer);
  await app.close();
  log.info('stopped');
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'Run the service: API and worker in one process on the embedded default (SQLite, local disk).',
    )
    .option(
      '--roles <roles>',
      'which roles this process runs: api, worker or api,worker',
      'api,worker',
    )
    .action((options: { roles: string }) => run(parseRoles(options.roles)));
  program
    .command('worker')
    .description('Run a job worker only (same as serve --roles worker).')
    .action(() => run(['worker']));
}
