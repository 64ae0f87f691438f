/**
 * Uploads whose writer died (the API process killed mid-upload, between its put and its row
 * update, or while refusing one) are left in `storing`, with perhaps an object or, on the fs
 * store, a temporary file. The API role sweeps them: any upload still unfinished after
 * ABANDONED_UPLOAD_AGE_MS loses its object, its temporaries and its row.
 */
import type { BlobStore } from '../../blobs/port.js';
import type { Db } from '../../db/connect.js';
import {
  claimAbandonedUploads,
  deleteUnfinishedUpload,
  uploadsToRemove,
} from '../../db/uploads.js';
import { uploadKey } from '../../ids.js';
import type { Logger } from '../../log.js';

/**
 * Longer than any upload should take: the default 5 GiB limit in an hour needs 1.5 MB/s. It is also
 * the longest an upload may take: one still streaming then is refused when it ends (its row was
 * claimed), so the sweep never races a live writer for its object.
 */
export const ABANDONED_UPLOAD_AGE_MS = 60 * 60 * 1000;
/** Abandoned uploads cost only disk space, so a few minutes' delay in removing them is fine. */
export const ABANDONED_UPLOAD_SWEEP_INTERVAL_MS = 5 * 60 * 1000;
const BATCH = 100;

export interface AbandonedUploadSweep {
  readonly db: Db;
  readonly blobs: BlobStore;
  readonly log: Logger;
  /** Default ABANDONED_UPLOAD_AGE_MS; tests shorten it. */
  readonly ageMs?: number;
}

/** Removes abandoned uploads; returns how many. A storage failure stops it until the next run. */
export async function removeAbandonedUploads(sweep: AbandonedUploadSweep): Promise<number> {
  const { db, blobs, log } = sweep;
  const startedBefore = new Date(Date.now() - (sweep.ageMs ?? ABANDONED_UPLOAD_AGE_MS));
  await claimAbandonedUploads(db, startedBefore.toISOString());
  let removed = 0;
  for (;;) {
    // Rows claimed by an earlier sweep that died are in this list too.
    const batch = await uploadsToRemove(db, BATCH);
    for (const upload of batch) {
      // The key is derived from the ids, as the route derived it, not read back from the row.
      await blobs.delete(uploadKey(upload.user_id, upload.id));
      await deleteUnfinishedUpload(db, upload.id);
      removed++;
    }
    if (batch.length < BATCH) break;
  }
  if (removed > 0) log.info({ removed }, 'removed uploads abandoned mid-upload');
  return removed;
}
