import type { SessionBackend } from "./backend.js";
import { configError } from "./errors.js";
import type { StoreOptions } from "./options.js";
import { assertBackend, resolveOptions } from "./resolve-options.js";
import { SessionkitStore } from "./store.js";

/**
 * Creates a session store over a backend, for express-session or @fastify/session.
 * Throws a `SessionStoreError` with code `ERR_SESSION_CONFIG` naming the option when the
 * configuration is invalid; never throws afterwards.
 *
 * @example
 * const store = createStore(knexAdapter(db), { ttl: 86_400, logger });
 * app.use(session({ store, secret, resave: false, saveUninitialized: false }));
 */
export function createStore(backend: SessionBackend, options?: StoreOptions): SessionkitStore {
  assertBackend(backend);
  const resolved = resolveOptions(options);
  if (resolved.owner && backend.capabilities?.owners === false) {
    // Owners would be dropped silently and "log out everywhere" would never work.
    throw configError("owner", `is set, but backend ${backend.name} stores no owners (capabilities.owners is false)`);
  }
  const preferred = backend.capabilities?.gcBatchSize;
  if (options?.gcBatchSize === undefined && preferred !== undefined) {
    if (!Number.isSafeInteger(preferred) || preferred <= 0) {
      throw configError("backend.capabilities.gcBatchSize", `must be a positive integer, got ${preferred}`);
    }
    resolved.gcBatchSize = preferred;
  }
  return new SessionkitStore(backend, resolved);
}
