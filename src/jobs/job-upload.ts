import type { Db } from '../db/connect.js';

/**
 * Whether a job's upload is what its message says: stored whole, the job's user's, at the key
 * the message names. The reason when it is not; every job kind checks this before any work.
 */
export async function checkJobUpload(
  db: Db,
  job: { readonly userId: string; readonly uploadId: string; readonly objectKey: string },
): Promise<string | undefined> {
  const upload = await db
    .selectFrom('uploads')
    .select(['user_id', 'object_key'])
    .where('id', '=', job.uploadId)
    // An unfinished upload has no whole object to work on, whatever the message says.
    .where('state', '=', 'stored')
    .executeTakeFirst();
  if (!upload || upload.user_id !== job.userId || upload.object_key !== job.objectKey) {
    return "job's object key is not the owner's upload";
  }
  return undefined;
}
