import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../db/test-support/embedded-postgres.js';
import { createTestSchema, type TestSchema } from '../db/test-support/postgres.js';
import { QueueError } from './errors.js';
import { PostgresJobQueue, type PostgresQueueOptions } from './postgres.js';
import { toQueueError } from './postgres-errors.js';
import { NOTIFY_CHANNEL } from './postgres-sql.js';
import { describeJobQueueContract } from './queue.contract.js';

describeJobQueueContract('postgres', async (settings) => {
  const schema = await createTestSchema();
  let offset = 0;
  const queue = new PostgresJobQueue({
    connectionString: schema.url,
    settings,
    pollIntervalMs: 250,
    clockOffsetMs: () => offset,
  });
  return {
    queue,
    spec: {
      kind: 'postgres',
      connectionString: schema.url,
      name: queue.name,
      settings,
      pollIntervalMs: 250,
    },
    advanceClock: (ms) => {
      offset += ms;
    },
    cleanup: async () => {
      await queue.close();
      await schema.drop();
    },
  };
});

describe('PostgresJobQueue', () => {
  const schemas: TestSchema[] = [];
  const queues: PostgresJobQueue[] = [];
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((queue) => queue.close()));
    await Promise.all(schemas.splice(0).map((schema) => schema.drop()));
  });
  async function freshSchemaUrl(): Promise<string> {
    const schema = await createTestSchema();
    schemas.push(schema);
    return schema.url;
  }
  function openQueue(connectionString: string, options: Partial<PostgresQueueOptions> = {}) {
    const queue = new PostgresJobQueue({
      settings: { receiveWaitTimeSeconds: 0 },
      ...options,
      connectionString,
    });
    queues.push(queue);
    return queue;
  }
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('wakes a long poll through NOTIFY alone, with no poll to fall back on', async () => {
    const url = await freshSchemaUrl();
    const receiver = openQueue(url, { pollIntervalMs: 60_000 });
    // A second instance (its own pool and listener) stands for another process: its send cannot
    // wake the receiver in memory, only through the database.
    const sender = openQueue(url);
    await receiver.stats();
    const waiting = receiver.receive({ waitSeconds: 20 });
    await sleep(300);
    const sentAt = performance.now();
    await sender.send({ body: 'hello' });
    const [got] = await waiting;
    expect(got?.body).toBe('hello');
    expect(performance.now() - sentAt).toBeLessThan(1000);
  });

  it('listens again after its listening connection is killed, and hears the next send', async () => {
    const url = await freshSchemaUrl();
    // Its own queue name, so that only this receiver's listening connection is terminated.
    const name = 'listener-outage';
    const receiver = openQueue(url, { name, pollIntervalMs: 60_000 });
    const sender = openQueue(url, { name });
    const waiting = receiver.receive({ waitSeconds: 20 });
    await sleep(300);
    const terminated = new pg.Client({ connectionString: url });
    await terminated.connect();
    const { rows } = await terminated.query<{ killed: boolean }>(
      `select pg_terminate_backend(pid) as killed from pg_stat_activity
        where query = 'LISTEN churnline_queue' and pid <> pg_backend_pid()
          and application_name = 'churnline-queue-listener-outage'
          and backend_type = 'client backend'`,
    );
    await terminated.end();
    expect(rows.filter((r) => r.killed).length).toBeGreaterThanOrEqual(1);
    // Past the reconnect back-off, with the poll a minute away: only a new LISTEN can hear it.
    await sleep(2000);
    const sentAt = performance.now();
    await sender.send({ body: 'after the outage' });
    const [got] = await waiting;
    expect(got?.body).toBe('after the outage');
    expect(performance.now() - sentAt).toBeLessThan(1000);
    expect(await sender.stats()).toMatchObject({ visible: 0, inFlight: 1 });
  });

  it('wakes a long poll when a delayed message becomes visible', async () => {
    const receiver = openQueue(await freshSchemaUrl(), { pollIntervalMs: 60_000 });
    await receiver.send({ body: 'later', delaySeconds: 1 });
    const started = performance.now();
    const [got] = await receiver.receive({ waitSeconds: 10 });
    expect(got?.body).toBe('later');
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('keeps same-named queues in different schemas apart, and creates its table once', async () => {
    const [urlA, urlB] = await Promise.all([freshSchemaUrl(), freshSchemaUrl()]);
    const a = openQueue(urlA);
    const b = openQueue(urlB);
    // Processes starting at once all create the table: the advisory lock makes that safe.
    await Promise.all([1, 2, 3].map(() => openQueue(urlA).stats()));
    await a.send({ body: 'for-a' });
    expect(await b.receive()).toEqual([]);
    expect((await a.receive()).map((m) => m.body)).toEqual(['for-a']);
  });

  it('ends a waiting long poll when closed', async () => {
    const queue = openQueue(await freshSchemaUrl());
    const waiting = queue.receive({ waitSeconds: 20 });
    await sleep(100);
    await queue.close();
    expect(await waiting).toEqual([]);
    await expect(queue.send({ body: 'x' })).rejects.toThrow(/closed/);
  });

  it('reports an unreachable database as a retryable QueueError', async () => {
    const port = await freeLoopbackPort();
    const queue = openQueue(`postgres://postgres:x@127.0.0.1:${port}/postgres`);
    const error = await queue.send({ body: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueError);
    expect(error).toMatchObject({ code: 'ServiceUnavailable', retryable: true });
  });

  it('reports a wrong password as a QueueError not worth retrying', async () => {
    const url = new URL(await freshSchemaUrl());
    url.password = 'wrong';
    const error = await openQueue(url.toString())
      .stats()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'InternalError', retryable: false });
    expect((error as Error).message).toMatch(/28P01/);
  });

  it('notifies receivers in other processes when a message of a capped group is deleted', async () => {
    const url = await freshSchemaUrl();
    const queue = openQueue(url, {
      settings: { receiveWaitTimeSeconds: 0, maxInFlightPerGroup: 1 },
    });
    await queue.send({ body: 'a-0', groupId: 'a' });
    const [held] = await queue.receive();
    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    try {
      await listener.query(`LISTEN ${NOTIFY_CHANNEL}`);
      const heard = new Promise<string | undefined>((resolve) =>
        listener.once('notification', (n) => resolve(n.payload)),
      );
      await queue.delete(held?.receiptHandle as string);
      // Without it, a receiver elsewhere waiting on the capped group sleeps until its next poll.
      expect(await heard).toMatch(/\.predictions$/);
    } finally {
      await listener.end();
    }
  });

  it('brings a queue table from before message groups up to date: its messages are in no group', async () => {
    const url = await freshSchemaUrl();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE TABLE queue_messages (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, queue text NOT NULL,
      id text NOT NULL UNIQUE, body text NOT NULL, attributes text, sent_at bigint NOT NULL,
      visible_at bigint NOT NULL, expires_at bigint NOT NULL,
      receive_count integer NOT NULL DEFAULT 0, first_received_at bigint, receipt text,
      dead_letter_reason text)`);
    await admin.query(
      `INSERT INTO queue_messages (queue, id, body, sent_at, visible_at, expires_at)
       VALUES ('predictions', 'old-1', 'queued before groups', 0, 0, 9e15)`,
    );
    await admin.end();
    const queue = openQueue(url);
    await queue.send({ body: 'new', groupId: 'user-a' });
    expect((await queue.receive({ maxMessages: 10 })).map((m) => m.body)).toEqual([
      'queued before groups',
      'new',
    ]);
  });

  it('classifies a connection ended by an administrator as retryable', async () => {
    const url = await freshSchemaUrl();
    const victim = new pg.Client({ connectionString: url });
    victim.on('error', () => {});
    const admin = new pg.Client({ connectionString: url });
    await Promise.all([victim.connect(), admin.connect()]);
    const { rows } = await victim.query<{ pid: number }>('select pg_backend_pid() as pid');
    const sleeping = victim.query('select pg_sleep(10)').catch((e: unknown) => e);
    await sleep(100);
    await admin.query('select pg_terminate_backend($1)', [rows[0]?.pid]);
    const error = toQueueError(await sleeping, 'receive');
    await Promise.all([admin.end(), victim.end().catch(() => {})]);
    expect(error).toMatchObject({ retryable: true, code: 'ServiceUnavailable' });
    expect(error.message).toMatch(/57P01/);
  });

  it('classifies SQLSTATEs: races and shutdowns retry, bad statements do not', () => {
    const withCode = (code: string) => Object.assign(new Error('x'), { code });
    for (const code of ['40001', '40P01', '57P01', '57P03', '08006', '53300', 'ECONNRESET']) {
      expect(toQueueError(withCode(code), 'send').retryable, code).toBe(true);
    }
    for (const code of ['42P01', '23505', '22P02', '28P01', '3D000']) {
      expect(toQueueError(withCode(code), 'send').retryable, code).toBe(false);
    }
    expect(toQueueError(new Error('Connection terminated unexpectedly'), 'x').retryable).toBe(true);
    const original = new QueueError('MessageTooLarge', 'too big', false);
    expect(toQueueError(original, 'send')).toBe(original);
  });
});
