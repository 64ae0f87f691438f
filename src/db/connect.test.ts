import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openSqliteDatabase } from './connect.js';

let dir: string;
let db: Db;
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'churnline-connect-'));
  db = await openSqliteDatabase(path.join(dir, 'app.db'));
  await db.schema.createTable('t').addColumn('n', 'integer').execute();
  await db
    .insertInto('t' as never)
    .values([1, 2, 3].map((n) => ({ n })) as never)
    .execute();
});
afterEach(async () => {
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const numbers = () =>
  db
    .selectFrom('t' as never)
    .select('n' as never)
    .orderBy('n' as never);

describe('the SQLite connection', () => {
  it('reuses prepared statements and still answers each run afresh', async () => {
    expect(await numbers().execute()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await db
      .deleteFrom('t' as never)
      .where('n' as never, '=', 2 as never)
      .execute();
    expect(await numbers().execute()).toEqual([{ n: 1 }, { n: 3 }]);
  });

  it('streams a query again once an earlier stream of it has ended', async () => {
    for (let i = 0; i < 2; i++) {
      const seen: unknown[] = [];
      for await (const row of numbers().stream()) seen.push(row);
      expect(seen).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    }
    expect(await numbers().execute()).toHaveLength(3);
  });
});
