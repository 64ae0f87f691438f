import { rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { expect, it } from 'vitest';
import type { BlobStore } from '../src/blobs/port.js';
import { openSqliteDatabase } from '../src/db/connect.js';
import { authorised, startService } from './support/service.js';
import { telcoCsv as telco } from './support/telco.js';

it('shuts down only after an upload whose client hung up is stored, and keeps it', async () => {
  // The upload's object is stored, then its handler waits here, before it marks the upload
  // stored: the point where shutdown used to close the database under it.
  let stored!: () => void;
  const storedSignal = new Promise<void>((resolve) => {
    stored = resolve;
  });
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const holdAfterPut = (blobs: BlobStore): BlobStore =>
    new Proxy(blobs, {
      get(target, property, receiver) {
        if (property === 'put') {
          return async (...args: Parameters<BlobStore['put']>) => {
            const result = await target.put(...args);
            stored();
            await released;
            return result;
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const service = await startService({}, ['api'], undefined, { blobs: holdAfterPut });
  const token = await service.token('alice');

  const hangUp = new AbortController();
  const form = new FormData();
  form.append('file', new Blob([telco], { type: 'text/csv' }), 'customers.csv');
  const sent = fetch(
    `${service.url}/v1/uploads`,
    authorised(token, { method: 'POST', body: form, signal: hangUp.signal }),
  ).catch(() => 'hung up');
  await storedSignal;
  hangUp.abort();
  expect(await sent).toBe('hung up');

  let closed = false;
  const closing = service.app.close().then(() => {
    closed = true;
  });
  await delay(300);
  expect(closed).toBe(false); // still waiting for the upload's handler
  release();
  await closing;

  const db = await openSqliteDatabase(path.join(service.dataDir, 'churnline.db'));
  try {
    const uploads = await db.selectFrom('uploads').select(['state', 'bytes']).execute();
    expect(uploads).toEqual([{ state: 'stored', bytes: telco.length }]);
  } finally {
    await db.destroy();
    rmSync(service.dataDir, { recursive: true, force: true });
  }
});
