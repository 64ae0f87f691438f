import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqliteDatabase } from './connect.js';
import { describeQuotaRepositoryContract } from './quotas.contract.js';
import { describeRepositoryContract } from './repositories.contract.js';
import { describeWebhookRepositoryContract } from './webhooks.contract.js';

const openSqlite = async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'churnline-db-'));
  const db = await openSqliteDatabase(path.join(dir, 'app.db'));
  return {
    db,
    cleanup: async () => {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

describeRepositoryContract('sqlite', openSqlite);
describeWebhookRepositoryContract('sqlite', openSqlite);
describeQuotaRepositoryContract('sqlite', openSqlite);
