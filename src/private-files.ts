/**
 * The data directory and the embedded databases hold user ids, file names, revenue summaries and
 * signed job bodies: owner-only (0700 / 0600), created so and, when found looser, tightened.
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIRECTORY = 0o700;
export const PRIVATE_FILE = 0o600;

/** Called for each path found looser than it should be, once tightened. */
export type OnTightened = (path: string, from: number, to: number) => void;

/** Takes group and other permissions off `target`, if it exists and has any. */
function tighten(target: string, mode: number, onTightened?: OnTightened): void {
  let current: number;
  try {
    current = statSync(target).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if ((current & ~mode) === 0) return;
  chmodSync(target, current & mode);
  onTightened?.(target, current, current & mode);
}

/** Creates `dir` (parents too) owner-only, or tightens it when it exists. */
export function privateDirectory(dir: string, onTightened?: OnTightened): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIRECTORY });
  tighten(dir, PRIVATE_DIRECTORY, onTightened);
}

/**
 * Makes an SQLite database owner-only before SQLite opens it: the file is created 0600 when
 * missing (SQLite gives its -wal, -shm and -journal files the database file's mode), and the
 * file and its journals are tightened when they exist looser.
 */
export function privateSqliteFile(file: string, onTightened?: OnTightened): void {
  privateDirectory(path.dirname(path.resolve(file)), onTightened);
  closeSync(openSync(file, 'a', PRIVATE_FILE));
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    tighten(`${file}${suffix}`, PRIVATE_FILE, onTightened);
  }
}
