import { backendConformance, storeConformance } from "@sessionkit/conformance";
import { pouchdbAdapter } from "@sessionkit/pouchdb";
import { afterAll } from "vitest";
import { couchForTests } from "./support/couch.js";

const couch = await couchForTests("conformance");
afterAll(() => couch.cleanup());

backendConformance("pouchdb over HTTP (CouchDB API)", () => pouchdbAdapter(couch.database("backend")), {
  skip: couch.skip,
});
storeConformance("pouchdb over HTTP (CouchDB API)", () => pouchdbAdapter(couch.database("store")), {
  skip: couch.skip,
});
