import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StartupError } from '../config/startup-error.js';
import { PostgresJobQueue } from '../queue/postgres.js';
import { checkPostgresQueue } from '../queue/startup-check.js';
import { openPostgresDatabase } from './connect.js';
import { freeLoopbackPort } from './test-support/embedded-postgres.js';
import { createTestSchema } from './test-support/postgres.js';

/** The run's server as its superuser, for making roles and schemas. */
let admin: pg.Client;
let serverUrl: URL;
const cleanups: string[] = [];
beforeAll(async () => {
  const schema = await createTestSchema();
  serverUrl = new URL(schema.url);
  serverUrl.searchParams.delete('options');
  await schema.drop();
  admin = new pg.Client({ connectionString: serverUrl.toString() });
  await admin.connect();
});
afterAll(async () => {
  for (const statement of cleanups.reverse()) await admin.query(statement);
  await admin.end();
});

function urlFor(change: (url: URL) => void): string {
  const url = new URL(serverUrl.toString());
  change(url);
  return url.toString();
}

async function refusal(url: string): Promise<StartupError> {
  const error = await openPostgresDatabase(url).then(
    () => {
      throw new Error('opened, but should have been refused');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StartupError);
  expect((error as Error).message).not.toContain(serverUrl.password);
  return error as StartupError;
}

/** A login role with its own password and a schema it may use but not create in. */
async function restrictedRole(): Promise<{ user: string; schema: string; url: string }> {
  const suffix = randomBytes(4).toString('hex');
  const user = `app_${suffix}`;
  const schema = `s_${suffix}`;
  const password = randomBytes(8).toString('hex');
  await admin.query(`CREATE ROLE ${user} LOGIN PASSWORD '${password}'`);
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.query(`GRANT USAGE ON SCHEMA ${schema} TO ${user}`);
  cleanups.push(`DROP ROLE ${user}`, `DROP SCHEMA ${schema} CASCADE`);
  const url = urlFor((u) => {
    u.username = user;
    u.password = password;
    u.searchParams.set('options', `-c search_path=${schema}`);
  });
  return { user, schema, url };
}

describe('PostgreSQL at start', () => {
  it('names DATABASE_URL and the host:port tried when nothing listens there', async () => {
    const port = await freeLoopbackPort();
    const error = await refusal(`postgres://churnline:s3cret@127.0.0.1:${port}/churnline`);
    expect(error.message).toBe(
      `Cannot reach PostgreSQL at 127.0.0.1:${port} (DATABASE_URL): connection refused, nothing listens there. Check the host and port in DATABASE_URL, and that the server is running and accepts TCP connections (listen_addresses).`,
    );
    expect(error.message).not.toContain('s3cret');
    expect(error.exitCode).toBe(1);
  });

  it('says a host name does not resolve', async () => {
    const error = await refusal('postgres://churnline:s3cret@db.churnline.invalid:5432/churnline');
    expect(error.message).toMatch(
      /^Cannot reach PostgreSQL at db\.churnline\.invalid:5432 \(DATABASE_URL\): (the host name db\.churnline\.invalid does not resolve\. Fix the host in DATABASE_URL\.|DNS did not answer)/,
    );
  });

  it('says the password is wrong, and the database missing, with the fix', async () => {
    const badPassword = await refusal(urlFor((u) => (u.password = 'wrong')));
    expect(badPassword.message).toBe(
      `PostgreSQL at 127.0.0.1:${serverUrl.port} (DATABASE_URL) refused the password of user postgres. Put the right password in DATABASE_URL (URL-encode characters such as @ : / %).`,
    );
    expect(badPassword.exitCode).toBe(2);
    const noDatabase = await refusal(urlFor((u) => (u.pathname = '/no_such_db')));
    expect(noDatabase.message).toBe(
      `PostgreSQL at 127.0.0.1:${serverUrl.port} (DATABASE_URL) has no database no_such_db. Create it (CREATE DATABASE "no_such_db" OWNER "postgres";) or fix the database name in DATABASE_URL.`,
    );
  });

  it('names the missing CREATE privilege on the schema and the GRANT to run', async () => {
    const { user, schema, url } = await restrictedRole();
    const error = await refusal(url);
    expect(error.message).toBe(
      `PostgreSQL at 127.0.0.1:${serverUrl.port} (DATABASE_URL): user ${user} may not create tables in schema ${schema}, and Churnline creates and migrates its own tables there. As the schema's owner or a superuser run: GRANT USAGE, CREATE ON SCHEMA ${schema} TO "${user}"; or start Churnline once with a role that may, so the tables exist.`,
    );
    expect(error.exitCode).toBe(2);
  });

  it('names the tables another role owns and the GRANT to run, and starts once granted', async () => {
    const { user, schema, url } = await restrictedRole();
    // The owner migrated; this role may only use the schema.
    const owner = await openPostgresDatabase(
      urlFor((u) => u.searchParams.set('options', `-c search_path=${schema}`)),
    );
    await owner.destroy();
    const error = await refusal(url);
    expect(error.message).toMatch(
      new RegExp(
        `^PostgreSQL at 127\\.0\\.0\\.1:${serverUrl.port} \\(DATABASE_URL\\): user ${user} may not use table \\S+: another role created the tables\\. As their owner run: GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO "${user}"; GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO "${user}";$`,
      ),
    );
    await admin.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${user}`,
    );
    await admin.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${user}`);
    const granted = await openPostgresDatabase(url);
    await granted.destroy();
  });

  it('QUEUE=postgres: names the privilege its queue table needs, at start', async () => {
    const { user, schema, url } = await restrictedRole();
    // The owner migrated the database's tables and granted them; the queue's table is missing.
    const owner = await openPostgresDatabase(
      urlFor((u) => u.searchParams.set('options', `-c search_path=${schema}`)),
    );
    await owner.destroy();
    await admin.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${user}`,
    );
    await admin.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${user}`);
    const queue = new PostgresJobQueue({ connectionString: url, name: 'predictions' });
    try {
      const error = await checkPostgresQueue(queue, url).then(
        () => {
          throw new Error('used, but should have been refused');
        },
        (e: unknown) => e as StartupError,
      );
      expect(error).toBeInstanceOf(StartupError);
      expect(error.message).toMatch(
        new RegExp(
          `user ${user} may not create tables in schema ${schema}.*GRANT USAGE, CREATE ON SCHEMA ${schema} TO "${user}";`,
        ),
      );
      expect(error.exitCode).toBe(2);
      // Made by the owner (as `churnline setup` does) but not granted: the GRANT for its tables.
      const ownerQueue = new PostgresJobQueue({
        connectionString: urlFor((u) => u.searchParams.set('options', `-c search_path=${schema}`)),
        name: 'predictions',
      });
      await ownerQueue.stats();
      await ownerQueue.close();
      const notGranted = await checkPostgresQueue(queue, url).catch((e: unknown) => e as Error);
      expect(notGranted?.message).toMatch(
        new RegExp(
          `user ${user} may not use table \\S*queue_messages\\S*: another role created the tables\\. As their owner run: GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema}`,
        ),
      );
      await admin.query(
        `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${user}`,
      );
      await checkPostgresQueue(queue, url);
    } finally {
      await queue.close();
    }
  });
});
