import { openDatabase, type PouchdbTarget } from "./open-database.js";
import { type PouchdbAdapterOptions, resolveOptions } from "./options.js";
import { PouchdbBackend } from "./pouchdb-backend.js";

export type { PouchdbTarget } from "./open-database.js";
export type { PouchdbAdapterOptions } from "./options.js";
export type { PouchDatabase } from "./pouch-types.js";
export { PouchdbBackend } from "./pouchdb-backend.js";

/**
 * A sessionkit backend over PouchDB.
 *
 * @param target nothing for a fresh in-memory database; a PouchDB database you made (LevelDB or
 *   any adapter; you close it); or the URL of a CouchDB database, e.g. `http://user:pass@host:5984/sessions`.
 * @param options see {@link PouchdbAdapterOptions}.
 * @throws SessionStoreError `ERR_SESSION_CONFIG` for a target or option it cannot use.
 */
export function pouchdbAdapter(target?: PouchdbTarget, options?: PouchdbAdapterOptions): PouchdbBackend {
  const resolved = resolveOptions(options);
  return new PouchdbBackend(openDatabase(target, resolved), resolved);
}
