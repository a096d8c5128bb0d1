import type { SessionBackend } from "./backend.js";
import { Encryption } from "./encryption.js";
import { configError } from "./errors.js";
import { readOptions, reject, rules } from "./kit/options.js";
import { type Logger, silentLogger } from "./logger.js";
import type { SessionData, StoreOptions } from "./options.js";
import { jsonSerializer, type Serializer } from "./serializer.js";

/** Ten years, in seconds: the longest `ttl` and `maxLifetime` (every backend's expiry column holds it). */
export const MAX_TTL_SECONDS = 10 * 365 * 86_400;
/** setTimeout's ceiling: a longer delay silently becomes 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;
const DEFAULT_MAX_SIZE = 16 * 1024 * 1024;

type OwnerFn = (session: SessionData) => string | number | null | undefined;
type TtlFn = (session: SessionData) => number;

/** Options after validation, with every default filled in. */
export interface ResolvedOptions {
  ttl: number | TtlFn;
  touchAfterMs: number;
  maxLifetimeMs: number | undefined;
  tombstoneMs: number;
  gcInterval: number;
  gcBatchSize: number;
  gcBatchTime: number;
  owner: OwnerFn | undefined;
  serializer: Serializer;
  encryption: Encryption | undefined;
  maxIdLength: number;
  maxSize: number;
  operationTimeout: number;
  logger: Logger;
  now: () => number;
}

/** Every method of the SessionBackend contract. */
export const BACKEND_METHODS = [
  "init",
  "get",
  "upsert",
  "touch",
  "destroy",
  "destroyByOwner",
  "listByOwner",
  "clear",
  "deleteExpired",
  "count",
  "stream",
  "close",
] as const;

/** Checks the backend's shape, so a wrong argument fails at construction, not on the first request. */
export function assertBackend(backend: unknown): asserts backend is SessionBackend {
  if (backend === null || typeof backend !== "object") {
    throw configError("backend", "must be a SessionBackend object (e.g. memoryBackend() or knexAdapter(db))");
  }
  for (const method of BACKEND_METHODS) {
    if (typeof (backend as Record<string, unknown>)[method] !== "function") {
      throw configError("backend", `is missing the method "${method}"`);
    }
  }
}

const seconds = (max: number) => rules.number(undefined, { min: 0, max, exclusiveMin: true });

/** Validates every option against the backend (throwing a config error that names it) and fills in defaults. */
export function resolveOptions(options: StoreOptions | undefined, backend: SessionBackend): ResolvedOptions {
  const caps = backend.capabilities ?? {};
  const o = readOptions("createStore", options, {
    ttl: rules.any((value): number | TtlFn | undefined =>
      typeof value === "function" ? (value as TtlFn) : seconds(MAX_TTL_SECONDS)(value),
    ),
    touchAfter: rules.number(0, { min: 0, max: MAX_TTL_SECONDS }),
    maxLifetime: seconds(MAX_TTL_SECONDS),
    tombstoneTtl: rules.number(3600, { min: 0, max: 7 * 86_400 }),
    gcInterval: rules.integer(600_000, { min: 0, max: MAX_TIMER_MS }),
    gcBatchSize: rules.integer(undefined, { min: 1, max: 1_000_000 }),
    gcBatchTime: rules.number(undefined, { min: 1, max: 60_000 }),
    owner: rules.func<OwnerFn>(),
    serializer: rules.any(serializerOption),
    encryption: rules.any((value) => (value === undefined ? undefined : encryptionOption(value))),
    maxIdLength: rules.integer(255, { min: 1, max: 100_000 }),
    maxSize: rules.integer(undefined, { min: 1 }),
    operationTimeout: rules.integer(10_000, { min: 1, max: MAX_TIMER_MS }),
    logger: rules.any(loggerOption),
    now: rules.func<() => number>(),
  });

  if (o.owner && caps.owners === false) {
    // Owners would be dropped silently and "log out everywhere" would never work.
    throw configError("owner", `is set, but backend ${backend.name} stores no owners (capabilities.owners is false)`);
  }
  if (o.maxLifetime !== undefined && caps.createdAt !== true) {
    throw configError(
      "maxLifetime",
      `needs a backend that stores creation times, and ${backend.name} does not (capabilities.createdAt)`,
    );
  }
  if (caps.legacy !== undefined) {
    // The other store reads the payload as JSON: ciphertext or another format would break it.
    for (const option of ["encryption", "serializer"] as const) {
      if (options?.[option] !== undefined) {
        throw configError(
          option,
          `can't be used over ${backend.name}: its records are in ${caps.legacy}'s layout, which ${caps.legacy} reads as plain JSON`,
        );
      }
    }
  }
  const preferred = caps.gcBatchSize;
  if (preferred !== undefined && (!Number.isSafeInteger(preferred) || preferred <= 0)) {
    throw configError("backend.capabilities.gcBatchSize", `must be a positive integer, got ${preferred}`);
  }
  const pace = caps.gcBatchTime;
  if (pace !== undefined && (!Number.isFinite(pace) || pace < 1 || pace > 60_000)) {
    throw configError("backend.capabilities.gcBatchTime", `must be a number from 1 to 60000, got ${pace}`);
  }
  const limit = caps.maxPayloadBytes;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit <= 0)) {
    throw configError("backend.capabilities.maxPayloadBytes", `must be a positive integer, got ${limit}`);
  }
  if (o.maxSize !== undefined && limit !== undefined && o.maxSize > limit) {
    throw configError("maxSize", `is ${o.maxSize} bytes, more than backend ${backend.name} holds (${limit})`);
  }

  return {
    ttl: o.ttl ?? 86_400,
    touchAfterMs: o.touchAfter * 1000,
    maxLifetimeMs: o.maxLifetime === undefined ? undefined : o.maxLifetime * 1000,
    tombstoneMs: caps.tombstones === true ? o.tombstoneTtl * 1000 : 0,
    gcInterval: o.gcInterval,
    gcBatchSize: o.gcBatchSize ?? preferred ?? 1000,
    gcBatchTime: o.gcBatchTime ?? pace ?? 10,
    owner: o.owner,
    serializer: o.serializer,
    encryption: o.encryption,
    maxIdLength: o.maxIdLength,
    maxSize: o.maxSize ?? Math.min(limit ?? DEFAULT_MAX_SIZE, DEFAULT_MAX_SIZE),
    operationTimeout: o.operationTimeout,
    logger: o.logger,
    now: o.now ?? Date.now,
  };
}

function serializerOption(value: unknown): Serializer {
  if (value === undefined) return jsonSerializer;
  const s = value as Partial<Serializer> | null;
  if (!s || typeof s.stringify !== "function" || typeof s.parse !== "function") {
    reject("must be an object with stringify(session) and parse(text) functions");
  }
  return s as Serializer;
}

function encryptionOption(value: unknown): Encryption {
  if (value === null || typeof value !== "object") reject("must be { keys: [...] }");
  const { keys, acceptUnbound, ...rest } = value as { keys?: unknown; acceptUnbound?: unknown };
  const extra = Object.keys(rest);
  if (extra.length > 0)
    throw configError(`encryption.${extra[0]}`, "is not an option of encryption (known: keys, acceptUnbound)");
  if (!Array.isArray(keys)) throw configError("encryption.keys", "must be a non-empty array of keys");
  if (acceptUnbound !== undefined && typeof acceptUnbound !== "boolean") {
    throw configError("encryption.acceptUnbound", "must be true or false");
  }
  return new Encryption(keys, { acceptUnbound: acceptUnbound ?? true });
}

function loggerOption(value: unknown): Logger {
  if (value === undefined) return silentLogger;
  const l = value as Partial<Logger> | null;
  const methods = ["child", "trace", "debug", "info", "warn", "error"] as const;
  if (!l || methods.some((m) => typeof l[m] !== "function")) {
    reject("must be a pino logger (child, trace, debug, info, warn and error methods)");
  }
  return l as Logger;
}
