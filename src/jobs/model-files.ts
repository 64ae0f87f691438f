/**
 * Files of models users trained, read from the blob store once each and kept: a model file never
 * changes once written (a retrained model is a new model). Bounded, oldest first out, since one
 * process serves many users with a few models each. The API and the scoring threads share it.
 */
import type { BlobStore } from '../blobs/port.js';
import { type ModelFile, parseModel } from '../model/model-file.js';
import { tagOperation } from './scoring-protocol.js';

const CACHED_FILES = 64;

export class ModelFiles {
  private readonly files = new Map<string, Promise<ModelFile>>();

  constructor(private readonly blobs: BlobStore) {}

  get(key: string): Promise<ModelFile> {
    let loaded = this.files.get(key);
    if (!loaded) {
      loaded = this.read(key);
      loaded.catch(() => this.files.delete(key));
      if (this.files.size >= CACHED_FILES) {
        this.files.delete(this.files.keys().next().value as string);
      }
      this.files.set(key, loaded);
    }
    return loaded;
  }

  private async read(key: string): Promise<ModelFile> {
    const chunks: Buffer[] = [];
    // Tagged, so a file deleted meanwhile reads as a deleted model, not a missing upload.
    for await (const chunk of await tagOperation('model', this.blobs.get(key))) {
      chunks.push(Buffer.from(chunk as Buffer));
    }
    return parseModel(Buffer.concat(chunks).toString('utf8'), 'the trained model');
  }
}
