/**
 * The fs store's temporary files: their names, and removing those a dead writer left. A process
 * killed mid-write (a worker's or the API's SIGKILL, a power cut) leaves its temporary files,
 * which no listing shows and nothing else would ever remove.
 *
 * They live in a `~tmp` directory beside their object, not among the objects: finding a dead
 * writer's leftovers then lists only the writes in progress there. Listing the object's own
 * directory instead cost a scan of every object in it on every put, which for a user with
 * thousands of results was a sixth of a worker's scoring thread.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, rm, rmdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';

/** The directory of the temporaries of the objects in a directory; `~` keeps it out of lists. */
export const TEMPORARY_DIR = '~tmp';

/**
 * Temporary files are named `<object>~tmp-<pid>.<host>-<random>` (`~meta-tmp-` for sidecars): the
 * host tag keeps a process id from meaning anything outside the machine (or container) it ran on.
 */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
const TEMPORARY = new RegExp(`^~(?:meta-)?tmp-(\\d+)\\.${HOST_TAG}-[0-9a-f]{12}$`);

/** The data and sidecar temporaries of one write of the object at `target`. */
export function temporaryPaths(target: string): { data: string; sidecar: string } {
  const unique = `${process.pid}.${HOST_TAG}-${randomBytes(6).toString('hex')}`;
  const inTemporaries = path.join(path.dirname(target), TEMPORARY_DIR, path.basename(target));
  return { data: `${inTemporaries}~tmp-${unique}`, sidecar: `${inTemporaries}~meta-tmp-${unique}` };
}

/**
 * Removes the temporaries of `objectName` in `dir` whose writers, on this host, are no longer
 * running; a live writer's are left alone (its put may still finish). Called when the key is
 * written again (the retried job, the re-upload) or deleted (the sweep of an abandoned upload).
 * Best effort: a failure here does not fail the put or delete that called it.
 */
export async function removeAbandonedTemporaries(dir: string, objectName: string): Promise<void> {
  const temporaries = path.join(dir, TEMPORARY_DIR);
  let names: string[];
  try {
    names = await readdir(temporaries);
  } catch {
    return;
  }
  const abandoned = names.filter((name) => {
    if (!name.startsWith(objectName)) return false;
    const pid = Number(TEMPORARY.exec(name.slice(objectName.length))?.[1]);
    return Number.isInteger(pid) && pid !== process.pid && !isRunning(pid);
  });
  await Promise.all(
    abandoned.map((name) => rm(path.join(temporaries, name), { force: true }).catch(() => {})),
  );
}

/**
 * Removes the temporaries' directory of `dir` if it is empty, when an object of `dir` is deleted
 * or a put fails: puts that succeed keep it, so that they do not race each other over it. A put
 * that loses it between creating it and opening its file creates it again (FsBlobStore's
 * createTemporary).
 */
export async function removeTemporaryDir(dir: string): Promise<void> {
  await rmdir(path.join(dir, TEMPORARY_DIR)).catch(() => {});
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
