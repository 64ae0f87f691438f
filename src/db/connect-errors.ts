/**
 * Why PostgreSQL could not be used at start, in one line naming DATABASE_URL (its host, port,
 * database and user; never the password) and the fix. It used to be the driver's own words:
 * `connect ECONNREFUSED 127.0.0.1:1`, or `Database migration unknown failed: permission denied`
 * for a role that may not create tables, naming neither the variable nor the GRANT to run.
 */
import { StartupError } from '../config/startup-error.js';

interface Target {
  readonly host: string;
  readonly port: string;
  readonly database: string;
  readonly user: string;
}

/** What DATABASE_URL points at, without its password. */
export function describeTarget(url: string): Target {
  try {
    const parsed = new URL(url);
    const user = decodeURIComponent(parsed.username) || process.env.PGUSER || 'the OS user';
    return {
      host: parsed.hostname || parsed.searchParams.get('host') || 'localhost',
      port: parsed.port || '5432',
      database: decodeURIComponent(parsed.pathname.slice(1)) || user,
      user,
    };
  } catch {
    return { host: '?', port: '?', database: '?', user: '?' };
  }
}

interface Failure {
  readonly code: string | undefined;
  readonly message: string;
}

/** The innermost errors that say something: causes, and each attempt of an AggregateError. */
function failures(error: unknown, depth = 0): Failure[] {
  if (!error || typeof error !== 'object' || depth > 5) return [];
  const shape = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  const inner = [
    ...(Array.isArray(shape.errors) ? shape.errors.flatMap((e) => failures(e, depth + 1)) : []),
    ...failures(shape.cause, depth + 1),
  ];
  const own: Failure = {
    code: typeof shape.code === 'string' ? shape.code : undefined,
    message: typeof shape.message === 'string' ? shape.message : String(error),
  };
  return own.code ? [own, ...inner] : [...inner, own];
}

/** Which migration failed, when the error came through migrateToLatest. */
function migrationOf(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : '';
  const name = /^Database migration (\S+) failed/.exec(message)?.[1];
  return name && name !== 'unknown' ? `migration ${name}` : undefined;
}

/**
 * A StartupError for a failure to connect to or migrate the database, or undefined when the
 * error is none of the known kinds (it is then shown as it is). `schema` is the connection's
 * current schema when known, for the GRANT statements.
 */
export function explainPostgresFailure(
  error: unknown,
  url: string,
  schema?: string,
): StartupError | undefined {
  const target = describeTarget(url);
  const at = `PostgreSQL at ${target.host}:${target.port} (DATABASE_URL)`;
  const fail = (message: string, exitCode: 1 | 2) =>
    new StartupError(message, exitCode, { cause: error });
  for (const { code, message } of failures(error)) {
    switch (code) {
      case 'ECONNREFUSED':
        return fail(
          `Cannot reach ${at}: connection refused, nothing listens there. Check the host and port in DATABASE_URL, and that the server is running and accepts TCP connections (listen_addresses).`,
          1,
        );
      case 'ENOTFOUND':
        return fail(
          `Cannot reach ${at}: the host name ${target.host} does not resolve. Fix the host in DATABASE_URL.`,
          2,
        );
      case 'EAI_AGAIN':
        return fail(
          `Cannot reach ${at}: DNS did not answer for ${target.host}. Check this machine's DNS, then the host in DATABASE_URL.`,
          1,
        );
      case 'ETIMEDOUT':
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return unanswered(at, fail);
      case '28P01':
        return fail(
          `${at} refused the password of user ${target.user}. Put the right password in DATABASE_URL (URL-encode characters such as @ : / %).`,
          2,
        );
      case '28000':
        return fail(
          `${at} refused user ${target.user}: ${message}. Fix the user in DATABASE_URL, or allow it in the server's pg_hba.conf.`,
          2,
        );
      case '3D000':
        return fail(
          `${at} has no database ${target.database}. Create it (CREATE DATABASE "${target.database}" OWNER "${target.user}";) or fix the database name in DATABASE_URL.`,
          2,
        );
      case '57P03':
        return fail(`${at} is starting up or shutting down: ${message}. Try again shortly.`, 1);
      case '53300':
        return fail(
          `${at} has no connection slot left: ${message}. Lower DATABASE_POOL_SIZE (per process) or raise the server's max_connections.`,
          1,
        );
      case '42501':
        return fail(
          privilegeProblem(error, message, target.user, schema ?? schemaOfUrl(url), at),
          2,
        );
      case 'SELF_SIGNED_CERT_IN_CHAIN':
      case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
      case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
        return fail(
          `${at}: its TLS certificate is not trusted (${code}). Point NODE_EXTRA_CA_CERTS at the CA bundle that signed it (for Amazon RDS, the RDS CA bundle), or use sslmode=no-verify in DATABASE_URL only on a network you trust.`,
          2,
        );
    }
    if (/timeout|timed out/i.test(message)) return unanswered(at, fail);
    if (/does not support SSL/i.test(message)) {
      return fail(
        `${at} does not accept TLS connections, but DATABASE_URL asks for them (sslmode). Enable TLS on the server, or remove sslmode from DATABASE_URL on a network you trust.`,
        2,
      );
    }
  }
  return undefined;
}

function unanswered(at: string, fail: (message: string, exitCode: 1 | 2) => StartupError) {
  return fail(
    `Cannot reach ${at}: no answer in time. Check the host and port in DATABASE_URL, and that firewalls or security groups let this machine reach the server.`,
    1,
  );
}

/**
 * The schema a connection to `url` uses when nobody asked the server: the first entry of a
 * `-c search_path=...` in its `options` parameter, else PostgreSQL's default `public`.
 */
function schemaOfUrl(url: string): string {
  try {
    const options = new URL(url).searchParams.get('options') ?? '';
    const path = /search_path\s*=\s*([^\s,]+)/.exec(options)?.[1];
    return path && !path.startsWith('$') ? path.replace(/^"|"$/g, '') : 'public';
  } catch {
    return 'public';
  }
}

/** Which privilege is missing, and the GRANT that gives it (run by the schema's owner). */
function privilegeProblem(
  error: unknown,
  message: string,
  user: string,
  schema: string,
  at: string,
): string {
  const step = migrationOf(error);
  const during = step ? ` (needed by ${step})` : '';
  const inSchema = /permission denied for schema (\S+)/.exec(message)?.[1] ?? schema;
  if (/permission denied for schema/.test(message)) {
    return `${at}: user ${user} may not create tables in schema ${inSchema}${during}, and Churnline creates and migrates its own tables there. As the schema's owner or a superuser run: GRANT USAGE, CREATE ON SCHEMA ${inSchema} TO "${user}"; or start Churnline once with a role that may, so the tables exist.`;
  }
  const table = /(?:permission denied for|must be owner of) (?:table|relation|sequence) (\S+)/.exec(
    message,
  )?.[1];
  if (/must be owner of/.test(message)) {
    return `${at}: user ${user} must own table ${table ?? '?'} to change it${during}: another role created the tables. Start Churnline once with the tables' owner in DATABASE_URL, or as that owner run: ALTER TABLE ${table ?? '<table>'} OWNER TO "${user}";`;
  }
  if (table) {
    return `${at}: user ${user} may not use table ${table}${during}: another role created the tables. As their owner run: GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO "${user}"; GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO "${user}";`;
  }
  return `${at}: user ${user} lacks a privilege${during}: ${message}. Grant it as the schema's owner, or use a role that has it in DATABASE_URL.`;
}
