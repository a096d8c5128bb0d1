import type { SessionBackend } from "@sessionkit/core";
import { DatabankBackend } from "./adapter.js";
import type { DatabankLike, DatabankSpec } from "./databank-shape.js";
import { type DatabankAdapterOptions, resolveBank, resolveOptions } from "./options.js";

export type { BankCallback, DatabankLike, DatabankSpec } from "./databank-shape.js";
export type { DatabankAdapterOptions } from "./options.js";

/**
 * A sessionkit backend over any databank driver (memory, redis, mongodb, ...), replacing
 * connect-databank and reading the sessions it stored.
 *
 * @param bank A connected Databank (never disconnected by the adapter), or `{ driver, params }`
 *   for the adapter to create with `Databank.get`, connect in `init()` and disconnect in `close()`.
 * @throws SessionStoreError `ERR_SESSION_CONFIG` for a bad `bank` or option.
 */
export function databankAdapter(bank: DatabankLike | DatabankSpec, options?: DatabankAdapterOptions): SessionBackend {
  return new DatabankBackend(resolveBank(bank), resolveOptions(options));
}
