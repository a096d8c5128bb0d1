import {
  chmodSync,
  closeSync,
  constants,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";

/** Owner only: read and write. */
export const PRIVATE_FILE = 0o600;
/** Owner only: read, write and enter. */
export const PRIVATE_DIR = 0o700;

/**
 * Creates `dir` (and missing parents) readable by this user only. A folder that already exists
 * is left as it is: it may be shared (`SESSIONKIT_DATA_DIR=/srv/app`), and what it holds is
 * made private file by file.
 */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
}

/**
 * Makes `path` a folder only this user can open: created 0700, or its mode set to 0700 when it
 * exists (for folders this app owns, such as the LevelDB database).
 */
export function ownedPrivateDir(path: string): void {
  privateDir(path);
  tighten(path, PRIVATE_DIR);
}

/**
 * Makes sure `path` exists with mode 0600 without touching its contents: created empty when
 * missing, its mode set to 0600 when it exists. Files that SQLite derives from it (`-wal`,
 * `-shm`) take its mode, so calling this on the database file before opening it keeps them
 * private too; those that already exist are fixed here as well.
 */
export function privateFile(path: string, companions: readonly string[] = []): void {
  privateDir(dirname(path));
  // O_CREAT without O_TRUNC: an existing file keeps its contents; a new one is born 0600.
  closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT, PRIVATE_FILE));
  tighten(path, PRIVATE_FILE);
  for (const suffix of companions) tighten(`${path}${suffix}`, PRIVATE_FILE);
}

/**
 * Writes `text` to `path` readable by this user only: into a new 0600 file next to it, then
 * renamed over it, so the text is never in a file others can read (even when `path` existed
 * with a wider mode) and a crash leaves the old file or the new one, never half of it.
 */
export function writePrivateFile(path: string, text: string): void {
  privateDir(dirname(path));
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  rmSync(temporary, { force: true }); // left by a crash, maybe with another mode
  writeFileSync(temporary, text, { mode: PRIVATE_FILE, flag: "wx" });
  renameSync(temporary, path);
}

/** Sets `path`'s permission bits to `mode` when they differ; a missing path is left missing. */
function tighten(path: string, mode: number): void {
  let current: number;
  try {
    current = statSync(path).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  if (current !== mode) chmodSync(path, mode);
}
