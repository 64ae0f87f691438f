import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorised, type RunningService, startService } from './support/service.js';
import { startSlowUpload, until } from './support/slow-upload.js';
import { telcoCsv as telco } from './support/telco.js';

let service: RunningService;
let token: string;

beforeAll(async () => {
  service = await startService({}, ['api']);
  token = await service.token('alice');
});
afterAll(async () => {
  await service.stop();
});

const uploadRows = () =>
  service.app.db.selectFrom('uploads').select(['id', 'state', 'bytes']).execute();

async function call(path: string, init: RequestInit = {}) {
  const response = await fetch(`${service.url}${path}`, authorised(token, init));
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
const predict = (uploadId: string) =>
  call('/v1/predictions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ uploadId }),
  });

describe('an upload in progress', () => {
  it('is invisible to list and get and cannot be scored until it is whole', async () => {
    const slow = startSlowUpload(service.url, token);
    slow.send(telco.subarray(0, 64 * 1024));
    await until('the upload has begun', async () => (await uploadRows()).length === 1);
    const [row] = await uploadRows();
    expect(row).toMatchObject({ state: 'storing' });
    const id = row!.id;

    expect(await call('/v1/uploads')).toEqual({ status: 200, body: { uploads: [] } });
    expect((await call(`/v1/uploads/${id}`)).status).toBe(404);
    expect(await predict(id)).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
    expect(await service.app.db.selectFrom('predictions').select('id').execute()).toEqual([]);

    const answer = await slow.finish(telco.subarray(64 * 1024));
    expect(answer).toMatchObject({
      status: 201,
      body: { id, rowCount: 7043, bytes: telco.length },
    });
    expect(await uploadRows()).toEqual([{ id, state: 'stored', bytes: telco.length }]);
    const listed = await call('/v1/uploads');
    expect((listed.body.uploads as Array<{ id: string }>).map((u) => u.id)).toEqual([id]);
    expect((await call(`/v1/uploads/${id}`)).body).toMatchObject({ id, rowCount: 7043 });
    expect((await predict(id)).status).toBe(202);
  });
});
