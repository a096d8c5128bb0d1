import type { SessionBackend } from "./backend.js";
import { Encryption } from "./encryption.js";
import { configError } from "./errors.js";
import type { Ttl } from "./expiry.js";
import { type Logger, silentLogger } from "./logger.js";
import type { SessionData, StoreOptions } from "./options.js";
import { jsonSerializer, type Serializer } from "./serializer.js";

/** Options after validation, with every default filled in. */
export interface ResolvedOptions {
  ttl: Ttl;
  touchAfterMs: number;
  gcInterval: number;
  gcBatchSize: number;
  owner: ((session: SessionData) => string | number | null | undefined) | undefined;
  serializer: Serializer;
  encryption: Encryption | undefined;
  maxIdLength: number;
  maxSize: number;
  logger: Logger;
}

export const DEFAULTS = {
  ttl: 86_400,
  touchAfter: 0,
  gcInterval: 600_000,
  gcBatchSize: 1000,
  maxIdLength: 255,
  maxSize: 1_048_576,
} as const;

const KNOWN = new Set([
  "ttl",
  "touchAfter",
  "gcInterval",
  "gcBatchSize",
  "owner",
  "serializer",
  "encryption",
  "maxIdLength",
  "maxSize",
  "logger",
]);

/** Every method of the SessionBackend contract. */
export const BACKEND_METHODS = [
  "init",
  "get",
  "upsert",
  "touch",
  "destroy",
  "destroyByOwner",
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

/** Validates every option (throwing a config error that names it) and fills in defaults. */
export function resolveOptions(options: StoreOptions | undefined): ResolvedOptions {
  const o = options ?? {};
  if (typeof o !== "object") throw configError("options", "must be an object");
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw configError(key, "is not a sessionkit option");
  }
  return {
    ttl: typeof o.ttl === "function" ? o.ttl : positiveNumber("ttl", o.ttl, DEFAULTS.ttl),
    touchAfterMs: nonNegativeNumber("touchAfter", o.touchAfter, DEFAULTS.touchAfter) * 1000,
    gcInterval: nonNegativeNumber("gcInterval", o.gcInterval, DEFAULTS.gcInterval),
    gcBatchSize: positiveInteger("gcBatchSize", o.gcBatchSize, DEFAULTS.gcBatchSize),
    owner: optionalFunction("owner", o.owner),
    serializer: serializerOption(o.serializer),
    encryption: o.encryption === undefined ? undefined : encryptionOption(o.encryption),
    maxIdLength: positiveInteger("maxIdLength", o.maxIdLength, DEFAULTS.maxIdLength),
    maxSize: positiveInteger("maxSize", o.maxSize, DEFAULTS.maxSize),
    logger: loggerOption(o.logger),
  };
}

function positiveNumber(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw configError(name, `must be a positive number, got ${describe(value)}`);
  }
  return value;
}

function nonNegativeNumber(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw configError(name, `must be a number >= 0, got ${describe(value)}`);
  }
  return value;
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) <= 0) {
    throw configError(name, `must be a positive integer, got ${describe(value)}`);
  }
  return value as number;
}

function optionalFunction<F>(name: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw configError(name, `must be a function, got ${describe(value)}`);
  }
  return value;
}

function serializerOption(value: unknown): Serializer {
  if (value === undefined) return jsonSerializer;
  const s = value as Partial<Serializer> | null;
  if (!s || typeof s.stringify !== "function" || typeof s.parse !== "function") {
    throw configError("serializer", "must be an object with stringify(session) and parse(text) functions");
  }
  return s as Serializer;
}

function encryptionOption(value: unknown): Encryption {
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw configError("encryption.keys", "must be a non-empty array of keys");
  return new Encryption(keys);
}

function loggerOption(value: unknown): Logger {
  if (value === undefined) return silentLogger;
  const l = value as Partial<Logger> | null;
  const methods = ["child", "trace", "debug", "info", "warn", "error"] as const;
  if (!l || methods.some((m) => typeof l[m] !== "function")) {
    throw configError("logger", "must be a pino logger (child, trace, debug, info, warn and error methods)");
  }
  return l as Logger;
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
