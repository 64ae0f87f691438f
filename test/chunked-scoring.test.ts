/**
 * Chunked scoring end to end on every setup: a file larger than SCORE_CHUNK_BYTES is scored in
 * chunks by the workers and assembled into exactly what one job makes of it (results file, rows
 * in every order, summary), once; its parts are gone afterwards; a worker SIGKILLed mid-chunk
 * costs that chunk a second attempt and nothing else.
 */
import { openAsBlob, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETUPS, type Setup, setUpBackends } from './support/backends.js';
import { startFaultWorker } from './support/fault-processes.js';
import { checkInvariants, fsLeftovers } from './support/invariants.js';
import {
  authorised,
  postPrediction,
  type RunningService,
  startService,
  startWorkerProcess,
  waitForStatus,
} from './support/service.js';
import { writeTelcoRows } from './support/telco.js';

const USER = 'chunk-user';
/** About 6.5 MiB: six or seven chunks of 1 MiB. */
const ROWS = 48_000;
const CHUNK_BYTES = String(1024 ** 2);

interface Scored {
  summary: Record<string, unknown> & { meanProbability: number };
  results: string;
  byRisk: string;
  byId: string;
}

async function uploadFile(service: RunningService, token: string, file: string): Promise<string> {
  const form = new FormData();
  form.append('file', await openAsBlob(file, { type: 'text/csv' }), 'customers.csv');
  const response = await fetch(
    `${service.url}/v1/uploads`,
    authorised(token, { method: 'POST', body: form }),
  );
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function predict(service: RunningService, token: string, uploadId: string): Promise<string> {
  const created = await postPrediction(service.url, token, uploadId);
  expect(created.status).toBe(202);
  return ((await created.json()) as { id: string }).id;
}

/** What a user gets of a completed prediction: its summary, results and rows in two orders. */
async function scored(service: RunningService, token: string, id: string): Promise<Scored> {
  const done = await waitForStatus(service.url, token, id, ['completed', 'failed'], 120_000);
  expect(done.status, JSON.stringify(done.error)).toBe('completed');
  const text = async (path: string) => {
    const response = await fetch(`${service.url}/v1/predictions/${id}/${path}`, authorised(token));
    expect(response.status).toBe(200);
    return response.text();
  };
  return {
    summary: done.summary as Scored['summary'],
    results: await text('results.csv'),
    byRisk: await text('rows.csv?sort=probability_desc'),
    byId: await text('rows.csv?customerId=0002-&sort=expected_loss_desc'),
  };
}

function expectSame(chunked: Scored, whole: Scored): void {
  expect(chunked.results).toBe(whole.results);
  expect(chunked.byRisk).toBe(whole.byRisk);
  expect(chunked.byId).toBe(whole.byId);
  // Sums of probabilities in another order differ in the last bits only; changes depend on what
  // was scored before.
  const { meanProbability, changes: _changes, ...rest } = chunked.summary;
  const { meanProbability: wholeMean, changes: _none, ...wholeRest } = whole.summary;
  expect(meanProbability).toBeCloseTo(wholeMean, 12);
  expect(rest).toEqual(wholeRest);
}

let file: string;
/** The same file scored in one job, on the embedded setup: what every chunked run must equal. */
let whole: Scored;
beforeAll(async () => {
  file = await writeTelcoRows(ROWS);
  const reference = await startService({ SCORE_CHUNK_BYTES: '0' });
  try {
    const token = await reference.token(USER);
    const id = await predict(reference, token, await uploadFile(reference, token, file));
    whole = await scored(reference, token, id);
    const chunks = await reference.app.db
      .selectFrom('predictions')
      .select('chunks')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(chunks.chunks).toBeNull();
  } finally {
    await reference.stop();
  }
}, 120_000);
afterAll(() => rmSync(file, { force: true }));

describe.each<Setup>(SETUPS)('a file scored in chunks (%s)', (setup) => {
  let api: RunningService;
  let token: string;
  let env: Record<string, string>;
  let undo: () => Promise<void> = async () => {};
  beforeAll(async () => {
    const prepared = await setUpBackends(setup, { visibilityTimeoutSeconds: 2 });
    undo = prepared.undo;
    env = {
      ...prepared.env,
      SCORE_CHUNK_BYTES: CHUNK_BYTES,
      // A killed worker's chunk comes back quickly; a live one's heartbeat keeps it.
      QUEUE_VISIBILITY_TIMEOUT_S: '2',
    };
    // The API here; workers in processes of their own, started by each test.
    api = await startService(env, ['api']);
    token = await api.token(USER);
  }, 60_000);
  afterAll(async () => {
    await api?.stop();
    await undo();
  });
  const leftovers = () =>
    setup === 'sqs and s3' ? {} : { leftovers: fsLeftovers(`${api.dataDir}/blobs`) };
  const workerEnv = () => ({ ...api.env, QUEUE_POLL_INTERVAL_MS: '20' });

  /** A failed prediction: no results to download, no orphans, no parts, `deadLetters` in all. */
  async function expectNothingLeft(id: string, deadLetters: number): Promise<void> {
    const results = await fetch(`${api.url}/v1/predictions/${id}/results.csv`, authorised(token));
    expect(results.status).not.toBe(200);
    const report = await checkInvariants({
      db: api.app.db,
      blobs: api.app.blobs,
      queue: api.app.queue,
      deadLetters,
      ...leftovers(),
      timeoutMs: 30_000,
    });
    expect(report.orphans).toEqual([]);
    expect(await api.app.blobs.list(`users/${USER}/parts/`)).toEqual([]);
  }

  const chunkRows = (id: string) =>
    api.app.db
      .selectFrom('prediction_chunks')
      .select(['chunk', 'status', 'attempts', 'rows_scored'])
      .where('prediction_id', '=', id)
      .orderBy('chunk')
      .execute();

  it('equals the file scored in one job, by two workers, and leaves no parts', async () => {
    const workers = [startWorkerProcess(workerEnv()), startWorkerProcess(workerEnv())];
    try {
      const uploadId = await uploadFile(api, token, file);
      const first = await predict(api, token, uploadId);
      expectSame(await scored(api, token, first), whole);
      const chunks = await chunkRows(first);
      expect(chunks.length).toBeGreaterThanOrEqual(5);
      expect(chunks.every((chunk) => chunk.status === 'scored')).toBe(true);
      expect(chunks.reduce((sum, chunk) => sum + Number(chunk.rows_scored), 0)).toBe(ROWS);

      // Scored again: every customer is compared with the first prediction, across chunks.
      const second = await predict(api, token, uploadId);
      const again = await scored(api, token, second);
      expect(again.results).toBe(whole.results);
      expect(again.summary.changes).toMatchObject({ unchanged: ROWS, new: 0 });

      const report = await checkInvariants({
        db: api.app.db,
        blobs: api.app.blobs,
        queue: api.app.queue,
        ...leftovers(),
        timeoutMs: 30_000,
      });
      expect(report.completed).toBe(2);
      expect(report.orphans).toEqual([]);
      expect(await api.app.blobs.list(`users/${USER}/parts/`)).toEqual([]);
    } finally {
      for (const worker of workers) worker.kill('SIGKILL');
    }
  }, 240_000);

  it('survives a worker SIGKILLed mid-chunk: one result, nothing lost or duplicated', async () => {
    const uploadId = await uploadFile(api, token, file);
    const id = await predict(api, token, uploadId);
    const victim = startWorkerProcess({ ...workerEnv(), WORKER_CONCURRENCY: '1' });
    let survivor: ReturnType<typeof startWorkerProcess> | undefined;
    try {
      // Kill it while a chunk is being scored: begun (an attempt counted), not yet scored.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const chunks = await chunkRows(id);
        if (chunks.some((chunk) => chunk.status === 'queued' && chunk.attempts > 0)) {
          break;
        }
        if (Date.now() > deadline) {
          const prediction = await api.app.db
            .selectFrom('predictions')
            .selectAll()
            .where('id', '=', id)
            .executeTakeFirst();
          throw new Error(
            `no chunk was seen being scored: ${JSON.stringify({ prediction, chunks })}`,
          );
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      victim.kill('SIGKILL');
      survivor = startWorkerProcess(workerEnv());
      expectSame(await scored(api, token, id), whole);
      const chunks = await chunkRows(id);
      expect(chunks.some((chunk) => chunk.attempts >= 2)).toBe(true);
      expect(chunks.reduce((sum, chunk) => sum + Number(chunk.rows_scored), 0)).toBe(ROWS);
      const report = await checkInvariants({
        db: api.app.db,
        blobs: api.app.blobs,
        queue: api.app.queue,
        ...leftovers(),
        timeoutMs: 30_000,
      });
      expect(report.orphans).toEqual([]);
      expect(await api.app.blobs.list(`users/${USER}/parts/`)).toEqual([]);
    } finally {
      victim.kill('SIGKILL');
      survivor?.kill('SIGKILL');
    }
  }, 240_000);

  it('fails the prediction cleanly when one chunk dead-letters: no results, no parts left', async () => {
    const uploadId = await uploadFile(api, token, file);
    const id = await predict(api, token, uploadId);
    // Storing chunk 3's part fails on every attempt, as a broken disk or bucket would.
    const worker = startFaultWorker(workerEnv(), {
      FAULT_PUT_ERROR: 'io',
      FAULT_PUT_FAIL_KEY_SUFFIX: '/3.csv',
    });
    try {
      const done = await waitForStatus(api.url, token, id, ['completed', 'failed'], 120_000);
      expect(done.status).toBe('failed');
      expect(done.error).toMatchObject({ code: 'retries_exhausted' });
      await expectNothingLeft(id, 1);
      expect((await chunkRows(id)).find((chunk) => chunk.chunk === 3)?.attempts).toBe(3);
    } finally {
      worker.kill('SIGKILL');
    }
  }, 240_000);

  it('fails the prediction cleanly when joining its results fails: nothing of it left', async () => {
    const uploadId = await uploadFile(api, token, file);
    const id = await predict(api, token, uploadId);
    // Every chunk scores; storing the joined results (…/results/<id>.csv) fails every time.
    const worker = startFaultWorker(workerEnv(), {
      FAULT_PUT_ERROR: 'io',
      FAULT_PUT_FAIL_KEY_SUFFIX: `/${id}.csv`,
    });
    try {
      const done = await waitForStatus(api.url, token, id, ['completed', 'failed'], 120_000);
      expect(done.status).toBe('failed');
      expect(done.error).toMatchObject({ code: 'retries_exhausted' });
      // "Scoring failed 3 times": the assembly's attempts are the prediction's.
      expect(done.attempts).toBe(3);
      expect((await chunkRows(id)).every((chunk) => chunk.status === 'scored')).toBe(true);
      // The assembly's message, beside the earlier test's chunk.
      await expectNothingLeft(id, 2);
      const history = await api.app.db
        .selectFrom('customer_history')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('prediction_id', '=', id)
        .executeTakeFirstOrThrow();
      expect(Number(history.n)).toBe(0);
    } finally {
      worker.kill('SIGKILL');
    }
  }, 240_000);
});
