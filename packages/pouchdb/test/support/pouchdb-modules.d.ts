// The full `pouchdb` package, for tests that make their own LevelDB databases. Typed by the
// shape the tests use instead of the old @types/pouchdb (its global Buffer breaks Node's types).
declare module "pouchdb" {
  import type { PouchDatabase } from "../../src/pouch-types.js";

  type Database = PouchDatabase & { close(): Promise<void>; destroy(): Promise<void> };
  const PouchDB: new (name: string, options?: Record<string, unknown>) => Database;
  export default PouchDB;
}
