import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqliteDatabase } from './connect.js';
import { describeRepositoryContract } from './repositories.contract.js';

describeRepositoryContract('sqlite', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'churnline-db-'));
  const db = await openSqliteDatabase(path.join(dir, 'app.db'));
  return {
    db,
    cleanup: async () => {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
