import { backendConformance, storeConformance } from "@sessionkit/conformance";
import { pouchdbAdapter } from "@sessionkit/pouchdb";
import { afterAll } from "vitest";
import { memoryDatabase, type TestDatabase } from "./support/pouch.js";

const databases: TestDatabase[] = [];
afterAll(() => Promise.all(databases.map((db) => db.destroy())));

/** Adapters over one in-memory database, as processes sharing it would be. */
function shared(options = {}) {
  const db = memoryDatabase();
  databases.push(db);
  return () => pouchdbAdapter(db, options);
}

// Pages of 50 documents: the stream test's 250 records cross page boundaries.
backendConformance("pouchdb in memory", shared({ pageSize: 50 }));
backendConformance(
  "pouchdb in memory, session-pouchdb-store layout",
  shared({ legacy: "session-pouchdb-store", pageSize: 50 }),
);
// The database the adapter makes itself: each adapter has its own.
backendConformance("pouchdb in memory, made by the adapter", () => pouchdbAdapter(), { shared: false });
storeConformance("pouchdb in memory", () => pouchdbAdapter());
