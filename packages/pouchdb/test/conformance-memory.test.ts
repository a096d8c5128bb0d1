import { backendConformance, storeConformance } from "@sessionkit/conformance";
import { pouchdbAdapter } from "@sessionkit/pouchdb";

backendConformance("pouchdb in memory", () => pouchdbAdapter());
storeConformance("pouchdb in memory", () => pouchdbAdapter());
