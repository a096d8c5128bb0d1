import { backendConformance } from "@sessionkit/conformance";
import { pouchdbAdapter } from "@sessionkit/pouchdb";
import { afterAll } from "vitest";
import { couchForTests } from "./support/couch.js";

const couch = await couchForTests("conformance-legacy");
afterAll(() => couch.cleanup());

// session-pouchdb-store's layout over HTTP (tombstones in documents of their own, read with allDocs).
const url = couch.database("backend");
const factory = () => pouchdbAdapter(url, { legacy: "session-pouchdb-store", pageSize: 50 });
backendConformance("pouchdb over HTTP, session-pouchdb-store layout", factory, {
  skip: couch.skip,
  streamRecords: 120,
});
