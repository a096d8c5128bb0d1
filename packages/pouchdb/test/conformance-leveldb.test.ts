import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backendConformance, storeConformance } from "@sessionkit/conformance";
import { pouchdbAdapter } from "@sessionkit/pouchdb";
import PouchDB from "pouchdb";
import { afterAll } from "vitest";

const root = mkdtempSync(join(tmpdir(), "sessionkit-pouchdb-leveldb-"));
const opened: InstanceType<typeof PouchDB>[] = [];
let counter = 0;

/** A fresh LevelDB database on disk; the adapter never closes it, so this file does. */
function leveldb() {
  const db = new PouchDB(join(root, `db-${++counter}`), { adapter: "leveldb" });
  opened.push(db);
  return pouchdbAdapter(db);
}

afterAll(async () => {
  await Promise.all(opened.map((db) => db.close()));
  rmSync(root, { recursive: true, force: true });
});

backendConformance("pouchdb on LevelDB", leveldb);
storeConformance("pouchdb on LevelDB", leveldb);
