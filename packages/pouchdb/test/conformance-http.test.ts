import { backendConformance, storeConformance } from "@sessionkit/conformance";
import { pouchdbAdapter } from "@sessionkit/pouchdb";
import { afterAll } from "vitest";
import { couchForTests } from "./support/couch.js";

const couch = await couchForTests("conformance");
afterAll(() => couch.cleanup());

const backend = couch.database("backend");
const legacy = couch.database("legacy");
backendConformance("pouchdb over HTTP (CouchDB API)", () => pouchdbAdapter(backend), { skip: couch.skip });
backendConformance(
  "pouchdb over HTTP, session-pouchdb-store layout",
  () => pouchdbAdapter(legacy, { legacy: "session-pouchdb-store" }),
  { skip: couch.skip },
);
storeConformance("pouchdb over HTTP (CouchDB API)", () => pouchdbAdapter(couch.database("store")), {
  skip: couch.skip,
});
