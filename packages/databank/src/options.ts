import { configError } from "@sessionkit/core";
import type { DatabankLike, DatabankSpec } from "./databank-shape.js";

/** Options of `databankAdapter`. */
export interface DatabankAdapterOptions {
  /**
   * The databank type ("table") sessions are stored under, keyed by session id: the same as
   * connect-databank, so its sessions keep working. The indexes use the types `<type>_expiry`,
   * `<type>_owner` and `<type>_meta`. Letters, digits, `_`, `-` and `.` only. Default: `"session"`.
   */
  type?: string;
  /** Width of the expiry index's time buckets, in ms. GC visits only buckets that have begun to expire. Default: 60000. */
  bucketMs?: number;
  /**
   * How long index entries of recent writes are batched before being written, in ms. Larger
   * batches cost fewer writes; a crash loses at most this window of entries (the sweep repairs it). Default: 100.
   */
  indexDelay?: number;
  /**
   * How often (ms) one GC run also scans the whole session type, to index sessions the index
   * missed (connect-databank's records, entries lost to a crash or a race). 0 turns it off.
   * The first GC run after start sweeps when no sweep is on record. Default: 86400000 (one day).
   */
  sweepInterval?: number;
  /**
   * Lifetime (ms) given to a connect-databank session whose cookie has no expiry (a browser
   * session): counted from now when it is read, and from the sweep that rewrites it in
   * sessionkit's format. Default: 86400000 (one day, the core's default `ttl`).
   */
  legacyTtl?: number;
}

export interface ResolvedOptions {
  type: string;
  bucketMs: number;
  indexDelay: number;
  sweepInterval: number;
  legacyTtl: number;
}

const TYPE_PATTERN = /^[A-Za-z0-9_.-]{1,100}$/;

export function resolveOptions(options: DatabankAdapterOptions | undefined): ResolvedOptions {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw configError("options", "must be an object");
  }
  const o = options ?? {};
  const type = o.type ?? "session";
  if (typeof type !== "string" || !TYPE_PATTERN.test(type) || type in Object.prototype) {
    throw configError("type", "must be 1-100 letters, digits, '_', '-' or '.'");
  }
  return {
    type,
    bucketMs: integer("bucketMs", o.bucketMs, 60_000, 1),
    indexDelay: integer("indexDelay", o.indexDelay, 100, 0),
    sweepInterval: integer("sweepInterval", o.sweepInterval, 86_400_000, 0),
    legacyTtl: integer("legacyTtl", o.legacyTtl, 86_400_000, 1),
  };
}

function integer(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw configError(name, `must be an integer >= ${min} (milliseconds)`);
  }
  return value;
}

const BANK_METHODS = ["read", "save", "create", "update", "del", "readAll", "scan", "incr"] as const;

/** Checks the first argument: a connected databank, or `{ driver, params }`. */
export function resolveBank(bank: unknown): { bank: DatabankLike } | { spec: DatabankSpec } {
  if (typeof bank !== "object" || bank === null) {
    throw configError("bank", "must be a connected Databank or { driver, params }");
  }
  const candidate = bank as Record<string, unknown>;
  if (BANK_METHODS.every((m) => typeof candidate[m] === "function")) return { bank: bank as DatabankLike };
  if (typeof candidate.driver === "string" && candidate.driver.length > 0) {
    if (candidate.params !== undefined && (typeof candidate.params !== "object" || candidate.params === null)) {
      throw configError("bank.params", "must be an object");
    }
    return { spec: { driver: candidate.driver, params: candidate.params as object | undefined } };
  }
  const missing = BANK_METHODS.filter((m) => typeof candidate[m] !== "function");
  throw configError("bank", `is neither a Databank (no ${missing.join(", ")}) nor { driver: string, params }`);
}
