import { createRequire } from "node:module";
import { configError, type Logger, readOptions, reject, rules } from "@sessionkit/core/kit";
import { DatabankBackend } from "./backend.js";
import { type BankCallback, driverError } from "./errors.js";
import { isPrototypeName } from "./schema.js";

export type { DatabankBackend } from "./backend.js";
export type { BankCallback } from "./errors.js";

/** The part of databank's callback API the adapter uses, typed by its shape (databank ships no types). */
export interface DatabankLike {
  connect(params: object, callback: BankCallback): void;
  disconnect(callback: BankCallback): void;
  create(type: string, id: string, value: unknown, callback: BankCallback): void;
  read(type: string, id: string, callback: BankCallback): void;
  update(type: string, id: string, value: unknown, callback: BankCallback): void;
  save(type: string, id: string, value: unknown, callback: BankCallback): void;
  del(type: string, id: string, callback: BankCallback): void;
  readAll(type: string, ids: string[], callback: BankCallback<Record<string, unknown>>): void;
  scan(type: string, onValue: (value: unknown) => void, callback: BankCallback): void;
  incr(type: string, id: string, callback: BankCallback<number>): void;
}

/** Let the adapter create, connect (in `init()`) and disconnect (in `close()`) a bank itself. */
export interface DatabankSpec {
  /** A driver class, or its name as `Databank.get` takes it: `"memory"`, or `"x"` for the package `databank-x`. */
  driver: string | (new (params: object) => DatabankLike);
  /** The driver's parameters. Default: `{}`. */
  params?: object;
}

/** Options of `databankAdapter`. */
export interface DatabankAdapterOptions {
  /**
   * The databank type sessions are stored under, keyed by id (connect-databank's: `"session"`);
   * tombstones go to `<type>_tombstones`, the indexes to `<type>_index`. Letters, digits, `_`, `-`
   * and `.`. Default: `"session"`.
   */
  type?: string;
  /**
   * Write records in connect-databank 1.0.3's layout (the session object itself, with `sid` and
   * `cookie.expires`, beside sessionkit's fields), so the app can go back to connect-databank
   * without losing a session: for while a migration is under way. It costs a JSON parse per write
   * and a serialization per read, and the store then refuses encryption and a custom serializer.
   * Default: `false` (sessionkit's compact layout, which connect-databank reads, without crashing,
   * as empty sessions).
   */
  connectDatabank?: boolean;
  /** How long (ms) a connect-databank session whose cookie has no expiry lives: from each read, and from `reindex()` for GC. Default: 86400000. */
  legacyTtl?: number;
  /** Width (ms) of the expiry index's time buckets. Default: 60000. */
  bucketMs?: number;
  /** Where warnings about stored values that are not sessions go (a pino logger, or anything with `warn`). Default: none. */
  logger?: Pick<Logger, "warn">;
}

export type Resolved = ReturnType<typeof resolve>;
/** Where the backend gets its bank, and whether it is the adapter's own (disconnected by `close()`). */
export interface Source {
  name: string;
  owned: boolean;
  open(): Promise<DatabankLike>;
}

const require = createRequire(import.meta.url);
const REDIS_REFUSED =
  "databank-redis 0.19 is refused: its Redis client is private and has no 'error' listener once connected, so a Redis outage ends the process, and a stored value that is not JSON throws inside its reply callback; nothing public lets an adapter guard against either. For Redis, use @sessionkit/redis (native expiry, cluster, modern clients)";

/**
 * A sessionkit backend over a databank driver, reading (and, with `connectDatabank`, writing)
 * connect-databank's records in place.
 *
 * @param source A connected bank (never disconnected by the adapter), or `{ driver, params }`
 *   for the adapter to create, connect in `init()` and disconnect in `close()`.
 * @throws SessionStoreError `ERR_SESSION_CONFIG` for a bad source or option, and for databank-redis.
 */
export function databankAdapter(
  source: DatabankLike | DatabankSpec,
  options?: DatabankAdapterOptions,
): DatabankBackend {
  return new DatabankBackend(bankSource(source), resolve(options));
}

function resolve(options: DatabankAdapterOptions | undefined) {
  const o = readOptions("databankAdapter", options, {
    type: rules.string("session", { pattern: /^[\w.-]{1,100}$/, shape: "1 to 100 letters, digits, '_', '-' or '.'" }),
    connectDatabank: rules.boolean(false),
    legacyTtl: rules.integer(86_400_000, { min: 1 }),
    bucketMs: rules.integer(60_000, { min: 1 }),
    logger: rules.any((v) =>
      v === undefined || typeof (v as Logger).warn === "function" ? v : reject("must have a warn method"),
    ),
  });
  if (isPrototypeName(o.type))
    throw configError("type", `of databankAdapter must not name an Object.prototype member, got "${o.type}"`);
  return o as typeof o & { logger?: Pick<Logger, "warn"> };
}

function bankSource(source: unknown): Source {
  if (typeof (source as DatabankLike | null)?.read === "function") {
    const methods = ["create", "update", "save", "del", "readAll", "scan", "incr"] as const;
    const missing = methods.filter((m) => typeof (source as Record<string, unknown>)[m] !== "function");
    if (missing.length > 0) throw configError("bank", `of databankAdapter lacks databank's ${missing.join(", ")}`);
    if (isDatabankRedis(source))
      throw configError("bank", `of databankAdapter is a databank-redis bank: ${REDIS_REFUSED}`);
    return { name: "databank", owned: false, open: async () => source as DatabankLike };
  }
  const { driver, params } = readOptions("databankAdapter's first argument (a bank or { driver, params })", source, {
    driver: rules.any((v) =>
      typeof v === "function" || (typeof v === "string" && /^[a-z0-9][a-z0-9._-]*$/.test(v))
        ? (v as DatabankSpec["driver"])
        : reject(
            `must be a driver class or a plain package name after "databank-", got ${JSON.stringify(v) ?? "undefined"}`,
          ),
    ),
    params: rules.any((v) =>
      v === undefined || (typeof v === "object" && v !== null) ? (v ?? {}) : reject("must be an object"),
    ),
  });
  if (driver === "redis" || isDatabankRedis(driver))
    throw configError("driver", `of databankAdapter: ${REDIS_REFUSED}`);
  const open = async (): Promise<DatabankLike> => {
    // databank is CommonJS without types: loaded with require, typed by what is used.
    const { Databank } = require("databank") as { Databank: { get(name: string, params: object): DatabankLike } };
    const bank = typeof driver === "string" ? Databank.get(driver, params) : new driver(params);
    await new Promise<void>((done, fail) => bank.connect({}, (error) => (error ? fail(driverError(error)) : done())));
    return bank;
  };
  return { name: `databank:${typeof driver === "string" ? driver : driver.name || "driver"}`, owned: true, open };
}

/**
 * Whether `candidate` is databank-redis's driver class or one of its banks, as loaded through the
 * databank this package resolves (where `Databank.get("redis")` loads it from). Looked up in the
 * module cache only: where databank-redis was never loaded, no bank of it exists.
 */
function isDatabankRedis(candidate: unknown): boolean {
  try {
    const fromDatabank = createRequire(require.resolve("databank"));
    const loaded = fromDatabank.cache[fromDatabank.resolve("databank-redis")]?.exports;
    return typeof loaded === "function" && (candidate === loaded || candidate instanceof loaded);
  } catch {
    return false; // not installed beside databank
  }
}
