import type { PouchDatabase } from "./pouch-types.js";

/**
 * PouchDB's HTTP adapter rejects with plain objects (`{status, name, message}`), which log as
 * "[object Object]". This turns such a rejection into an Error with the same message and status,
 * the original as `cause`. Real Errors and anything else pass through unchanged.
 */
export function asError(reason: unknown): unknown {
  if (reason instanceof Error || typeof reason !== "object" || reason === null) return reason;
  const fields = reason as { message?: unknown; reason?: unknown; status?: unknown; name?: unknown };
  const text = fields.message ?? fields.reason ?? fields.name;
  const error = new Error(typeof text === "string" && text !== "" ? text : JSON.stringify(reason), { cause: reason });
  error.name = "PouchError";
  return Object.assign(error, { status: fields.status, error: fields.name });
}

const rethrow = (reason: unknown): never => {
  throw asError(reason);
};

/** The same database, with every rejection passed through `asError`. */
export function withRealErrors(db: PouchDatabase): PouchDatabase {
  return {
    get adapter() {
      return db.adapter;
    },
    get: (id) => db.get(id).catch(rethrow),
    put: (doc) => db.put(doc).catch(rethrow),
    bulkDocs: (docs) => db.bulkDocs(docs).catch(rethrow),
    query: (view, options) => db.query(view, options).catch(rethrow),
    info: () => db.info().catch(rethrow),
    compact: db.compact && (() => Promise.resolve(db.compact?.()).catch(rethrow)),
    close: db.close && (() => Promise.resolve(db.close?.()).catch(rethrow)),
    destroy: db.destroy && (() => Promise.resolve(db.destroy?.()).catch(rethrow)),
  };
}
