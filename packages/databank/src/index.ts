import { createRequire } from "node:module";
import { configError, type Logger, readOptions, reject, rules } from "@sessionkit/core/kit";
import { DatabankBackend } from "./backend.js";
import { type BankCallback, call } from "./errors.js";
import { isPrototypeName, type Layout } from "./schema.js";

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

/** A databank driver class, as `databank-<name>` exports it. */
export type DatabankDriver = new (params: object) => DatabankLike;

/** Let the adapter create, connect (in `init()`) and disconnect (in `close()`) a bank itself. */
export interface DatabankSpec {
  /**
   * A driver: its name as `Databank.get` takes it (`"memory"`, or `"mongodb"` for the package
   * `databank-mongodb`: a plain package name, lower case) or the driver class itself.
   */
  driver: string | DatabankDriver;
  /** The driver's parameters. Default: `{}`. */
  params?: object;
}

/** Options of `databankAdapter`. */
export interface DatabankAdapterOptions {
  /**
   * The databank type sessions are stored under, keyed by id: connect-databank's is `"session"`.
   * Tombstones go to `<type>_tombstones` and the indexes to `<type>_index`. Letters, digits,
   * `_`, `-` and `.`. Default: `"session"`.
   */
  type?: string;
  /**
   * Write every record in connect-databank 1.0.3's layout (the session object itself, with
   * `sid` and `cookie.expires`, beside sessionkit's fields), so the app can go back to
   * connect-databank without losing a session. Meant for while a migration is under way: it
   * costs a JSON parse per write and a serialization per read, and needs the store's default
   * serializer without encryption (the store refuses both at construction). Default: `false`
   * (sessionkit's compact layout, which connect-databank reads without crashing but as empty
   * sessions).
   */
  connectDatabank?: boolean;
  /**
   * How long (ms) a connect-databank session whose cookie has no expiry (a browser-session
   * cookie) lives: counted from each read, and from `reindex()` for GC. Default: 86400000 (a day).
   */
  legacyTtl?: number;
  /** Width (ms) of the expiry index's time buckets. Default: 60000. */
  bucketMs?: number;
  /** Where warnings about stored values that are not sessions go (a pino logger or the like). Default: none. */
  logger?: Pick<Logger, "warn">;
}

/** Options after validation. */
export interface Resolved {
  type: string;
  layout: Layout;
  connectDatabank: boolean;
  legacyTtl: number;
  bucketMs: number;
  logger: Pick<Logger, "warn">;
}

const require = createRequire(import.meta.url);
const DRIVER_NAME = /^[a-z0-9][a-z0-9._-]*$/;
const METHODS = ["read", "create", "update", "save", "del", "readAll", "scan", "incr"] as const;
const REDIS_REFUSED =
  "databank-redis 0.19 is refused: its Redis client is private and has no 'error' listener once connected, so a Redis outage ends the process, and a stored value that is not JSON throws inside its reply callback; nothing public lets an adapter guard against either. For Redis, use @sessionkit/redis (native expiry, cluster, modern clients)";

/**
 * A sessionkit backend over a databank driver, reading (and, with `connectDatabank`, writing)
 * connect-databank's records in place.
 *
 * @param source A connected bank (never disconnected by the adapter), or `{ driver, params }`
 *   for the adapter to create, connect in `init()` and disconnect in `close()`.
 * @throws SessionStoreError `ERR_SESSION_CONFIG` for a bad source or option, and for a
 *   databank-redis bank or driver (see `REDIS_REFUSED`).
 */
export function databankAdapter(
  source: DatabankLike | DatabankSpec,
  options?: DatabankAdapterOptions,
): DatabankBackend {
  const o = readOptions("databankAdapter", options, {
    type: rules.string("session", {
      pattern: /^[A-Za-z0-9_.-]{1,100}$/,
      shape: "1 to 100 letters, digits, '_', '-' or '.'",
    }),
    connectDatabank: rules.boolean(false),
    legacyTtl: rules.integer(86_400_000, { min: 1 }),
    bucketMs: rules.integer(60_000, { min: 1 }),
    logger: rules.any((value) =>
      value === undefined || typeof (value as Logger | null)?.warn === "function"
        ? ((value ?? { warn: () => {} }) as Pick<Logger, "warn">)
        : reject("must be a logger with a warn method"),
    ),
  });
  if (isPrototypeName(o.type))
    throw configError("type", `of databankAdapter must not name an Object.prototype member, got "${o.type}"`);
  const resolved: Resolved = { ...o, layout: o.connectDatabank ? "connect-databank" : "compact" };
  return new DatabankBackend(bankSource(source), resolved);
}

function bankSource(source: unknown): ConstructorParameters<typeof DatabankBackend>[0] {
  if (typeof (source as DatabankLike | null)?.read === "function") {
    const missing = METHODS.filter((m) => typeof (source as Record<string, unknown>)[m] !== "function");
    if (missing.length > 0) throw configError("bank", `of databankAdapter lacks databank's ${missing.join(", ")}`);
    if (isDatabankRedis(source))
      throw configError("bank", `of databankAdapter is a databank-redis bank: ${REDIS_REFUSED}`);
    return { bank: source as DatabankLike };
  }
  const spec = readOptions("databankAdapter's first argument (a connected bank or { driver, params })", source, {
    driver: rules.any((value): string | DatabankDriver => {
      if (typeof value === "function") return value as DatabankDriver;
      if (typeof value !== "string" || !DRIVER_NAME.test(value)) {
        return reject(
          `must be a driver class or a plain package name after "databank-" (lower case, no "/"), got ${JSON.stringify(value) ?? "undefined"}`,
        );
      }
      return value;
    }),
    params: rules.any((value) =>
      value === undefined || (typeof value === "object" && value !== null)
        ? ((value ?? {}) as object)
        : reject("must be an object"),
    ),
  });
  const { driver, params } = spec;
  if (driver === "redis" || isDatabankRedis(driver))
    throw configError("driver", `of databankAdapter: ${REDIS_REFUSED}`);
  const name = typeof driver === "string" ? driver : driver.name || "driver";
  const open = async (): Promise<DatabankLike> => {
    let bank: DatabankLike;
    if (typeof driver === "string") {
      // databank is CommonJS without types: loaded with require, typed by what is used.
      const { Databank } = require("databank") as { Databank: { get(driver: string, params: object): DatabankLike } };
      bank = Databank.get(driver, params);
    } else bank = new driver(params);
    await call((cb) => bank.connect({}, cb));
    return bank;
  };
  return { open, name };
}

/**
 * Whether `candidate` is databank-redis's driver class or one of its banks, as loaded through
 * the databank this package resolves (where `Databank.get("redis")` loads it from). Read from
 * the module cache only: when databank-redis was never loaded there, no bank of it exists.
 */
function isDatabankRedis(candidate: unknown): boolean {
  let loaded: unknown;
  try {
    const fromDatabank = createRequire(require.resolve("databank"));
    loaded = fromDatabank.cache[fromDatabank.resolve("databank-redis")]?.exports;
  } catch {
    return false; // not installed next to databank
  }
  return typeof loaded === "function" && (candidate === loaded || candidate instanceof loaded);
}
