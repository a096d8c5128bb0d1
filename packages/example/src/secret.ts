import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { privateFile, writePrivateFile } from "./files.js";

/**
 * The cookie secret: the given one, or one generated on first start and kept in
 * `<dataDir>/secret`, so cookies stay valid across restarts. The file is readable by this user
 * only (0600, in a 0700 folder when the app creates it): a stored secret with a wider mode gets
 * 0600, and a missing or too-short one is replaced by a new 0600 file.
 */
export function loadSecret(given: string | undefined, dataDir: string): string {
  if (given) return given;
  const file = join(dataDir, "secret");
  try {
    const stored = readFileSync(file, "utf8").trim();
    if (stored.length >= 32) {
      privateFile(file);
      return stored;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const secret = randomBytes(32).toString("hex");
  writePrivateFile(file, `${secret}\n`);
  return secret;
}
