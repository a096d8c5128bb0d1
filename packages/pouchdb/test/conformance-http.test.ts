import { backendConformance } from "@sessionkit/conformance";
import { pouchdbAdapter } from "@sessionkit/pouchdb";
import { afterAll } from "vitest";
import { couchForTests } from "./support/couch.js";

const couch = await couchForTests("conformance");
afterAll(() => couch.cleanup());

// Pages of 50 documents: the stream test's 120 records cross page boundaries.
const url = couch.database("backend");
backendConformance("pouchdb over HTTP (CouchDB API)", () => pouchdbAdapter(url, { pageSize: 50 }), {
  skip: couch.skip,
  streamRecords: 120,
});
