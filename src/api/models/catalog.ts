/**
 * The models a user can score with: the shipped ones (loaded once at start) and the user's own
 * ready models (their files read from the blob store on first use, then kept: a model file never
 * changes once written).
 */
import type { BlobStore } from '../../blobs/port.js';
import type { Db } from '../../db/connect.js';
import { findModel } from '../../db/models.js';
import type { UserModel } from '../../db/schema.js';
import { type ModelFile, parseModel } from '../../model/model-file.js';

/** User model files kept in memory; a process serves many users, each with a few models. */
const CACHED_FILES = 64;

export type ResolvedModel =
  | { kind: 'shipped'; id: string; model: ModelFile }
  | { kind: 'user'; id: string; model: ModelFile; row: UserModel }
  | { kind: 'not-ready'; id: string; row: UserModel }
  | { kind: 'unknown'; id: string };

export class ModelCatalog {
  private readonly files = new Map<string, Promise<ModelFile>>();

  constructor(
    private readonly shipped: ReadonlyMap<string, ModelFile>,
    private readonly db: Db,
    private readonly blobs: BlobStore,
  ) {}

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
    return { kind: 'user', id, model: await this.file(row.object_key), row };
  }

  /** A user model's file, read once. */
  async file(key: string): Promise<ModelFile> {
    let loaded = this.files.get(key);
    if (!loaded) {
      loaded = this.read(key);
      loaded.catch(() => this.files.delete(key));
      if (this.files.size >= CACHED_FILES)
        this.files.delete(this.files.keys().next().value as string);
      this.files.set(key, loaded);
    }
    return loaded;
  }

  private async read(key: string): Promise<ModelFile> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.blobs.get(key)) chunks.push(chunk as Buffer);
    return parseModel(Buffer.concat(chunks).toString('utf8'), 'the trained model');
  }
}
