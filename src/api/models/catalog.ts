/**
 * The models a user can score with: the shipped ones (loaded once at start) and the user's own
 * ready models (their files read from the blob store on first use, then kept: a model file never
 * changes once written).
 */
import type { BlobStore } from '../../blobs/port.js';
import type { Db } from '../../db/connect.js';
import { findModel } from '../../db/models.js';
import type { UserModel } from '../../db/schema.js';
import { ModelFiles } from '../../jobs/model-files.js';
import type { ModelFile } from '../../model/model-file.js';

export type ResolvedModel =
  | { kind: 'shipped'; id: string; model: ModelFile }
  | { kind: 'user'; id: string; model: ModelFile; row: UserModel }
  | { kind: 'not-ready'; id: string; row: UserModel }
  | { kind: 'unknown'; id: string };

export class ModelCatalog {
  private readonly files: ModelFiles;

  constructor(
    private readonly shipped: ReadonlyMap<string, ModelFile>,
    private readonly db: Db,
    blobs: BlobStore,
  ) {
    this.files = new ModelFiles(blobs);
  }

  /** Shipped models, in the order they ship. */
  shippedModels(): Array<[id: string, model: ModelFile]> {
    return [...this.shipped];
  }

  async resolve(userId: string, id: string): Promise<ResolvedModel> {
    const shipped = this.shipped.get(id);
    if (shipped) return { kind: 'shipped', id, model: shipped };
    const row = await findModel(this.db, userId, id);
    if (!row) return { kind: 'unknown', id };
    if (row.status !== 'ready' || row.object_key === null) return { kind: 'not-ready', id, row };
    return { kind: 'user', id, model: await this.files.get(row.object_key), row };
  }
}
