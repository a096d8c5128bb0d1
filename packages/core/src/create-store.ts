import type { SessionBackend } from "./backend.js";
import type { StoreOptions } from "./options.js";
import { assertBackend, resolveOptions } from "./resolve-options.js";
import { SessionkitStore } from "./store.js";

/**
 * Creates a session store over a backend, for express-session or @fastify/session.
 * Throws a `SessionStoreError` with code `ERR_SESSION_CONFIG` naming the option when the
 * configuration is invalid; never throws afterwards.
 *
 * @typeParam Fields your session's own fields, for the `owner` and `ttl` functions and the
 *   sessions it returns. Default: any field.
 * @example
 * const store = createStore(knexAdapter(db), { ttl: 86_400, logger });
 * app.use(session({ store, secret, resave: false, saveUninitialized: false }));
 */
// biome-ignore lint/suspicious/noExplicitAny: the default session type is open, as express-session's own
export function createStore<Fields = Record<string, any>>(
  backend: SessionBackend,
  options?: StoreOptions<Fields>,
): SessionkitStore<Fields> {
  assertBackend(backend);
  return new SessionkitStore<Fields>(backend, resolveOptions(options as StoreOptions, backend));
}
