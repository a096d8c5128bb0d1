import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backendConformance, storeConformance } from "@sessionkit/conformance";
import { pouchdbAdapter } from "@sessionkit/pouchdb";
import { afterAll } from "vitest";
import { leveldbDatabase, type TestDatabase } from "./support/pouch.js";

const root = mkdtempSync(join(tmpdir(), "sessionkit-pouchdb-leveldb-"));
const opened: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(opened.map((db) => db.close()));
  rmSync(root, { recursive: true, force: true });
});

/** Adapters over one LevelDB database on disk; the adapter never closes it, so this file does. */
function shared(options = {}) {
  const db = leveldbDatabase(join(root, `db-${opened.length}`));
  opened.push(db);
  return () => pouchdbAdapter(db, options);
}

backendConformance("pouchdb on LevelDB", shared({ pageSize: 50 })); // the stream test crosses pages
storeConformance("pouchdb on LevelDB", shared());
