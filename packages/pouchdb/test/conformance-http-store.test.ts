import { storeConformance } from "@sessionkit/conformance";
import { pouchdbAdapter } from "@sessionkit/pouchdb";
import { afterAll } from "vitest";
import { couchForTests } from "./support/couch.js";

const couch = await couchForTests("store");
afterAll(() => couch.cleanup());

const url = couch.database("store");
storeConformance("pouchdb over HTTP (CouchDB API)", () => pouchdbAdapter(url), { skip: couch.skip });
