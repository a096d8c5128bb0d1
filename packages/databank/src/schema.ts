import type { SessionRecord } from "@sessionkit/core/kit";
import { cookieView, legacyRecord, META, sessionPayload, toSessionObject } from "./legacy.js";

/**
 * What the adapter stores, in three databank types (databank makes a type on its first write):
 *
 * - `<type>`: one record per session, keyed by id: sessionkit's compact layout
 *   `{ sid, cookie: { expires: <ms> }, _sessionkit: Meta, payload }`, or with `connectDatabank`
 *   the session object itself as connect-databank stores it, plus `_sessionkit: Meta`.
 * - `<type>_tombstones`: `{ sid, until, at }` per destroyed id (its record is deleted).
 * - `<type>_index`: the expiry and owner indexes (see `Logs`).
 */
export interface Meta {
  /** The stored expiry (epoch ms), after the lifetime cap. */
  exp: number;
  created: number;
  active: number;
  owner: string | null;
  /** createdAt + maxLifetimeMs, when a lifetime was set: no view of the expiry goes past it. */
  cap?: number;
}

/** A session record read back. */
export interface Found {
  record: SessionRecord;
  /** What sessionkit stored beside it; undefined for another layout's record (no index lists it). */
  meta?: Meta;
  /** A browser-session record of connect-databank's: its expiry is only `legacyTtl` from now. */
  guessed?: boolean;
}

export function encodeSession(legacy: boolean, id: string, payload: string, meta: Meta): object {
  // connect-databank compares a cookie.expires that is no string as it is: a number will do.
  return (
    (legacy && toSessionObject(id, payload, meta)) || { sid: id, cookie: { expires: meta.exp }, [META]: meta, payload }
  );
}

/** Reads a stored value as a session record, or undefined when it is not one. `id`: the key, or (scans) the value's sid. */
export function decodeSession(value: unknown, id: string | undefined, now: number, ttl: number): Found | undefined {
  const bag = value as Record<string, unknown> | null;
  if (typeof bag !== "object" || bag === null || Array.isArray(bag)) return undefined;
  const key = id ?? (typeof bag.sid === "string" ? bag.sid : undefined);
  if (key === undefined) return undefined;
  if (!Object.hasOwn(bag, META)) return legacyRecord(bag, key, now, ttl);
  const meta = bag[META] as Meta;
  if (!isMeta(meta)) return undefined;
  const compact = typeof bag.payload === "string";
  if (!compact && (typeof bag.cookie !== "object" || bag.cookie === null)) return undefined;
  // The later of our expiry and the cookie's: connect-databank moves cookie.expires when it keeps
  // a session alive after a rollback, and going forward again must not log it out.
  const expiresAt = Math.min(Math.max(meta.exp, cookieView(bag, compact) ?? -Infinity), meta.cap ?? Infinity);
  const payload = compact ? (bag.payload as string) : sessionPayload(bag, key);
  const record = { id: key, payload, expiresAt, owner: meta.owner, createdAt: meta.created, lastActiveAt: meta.active };
  return { record, meta };
}

function isMeta(m: Partial<Meta> | null): m is Meta {
  if (typeof m !== "object" || m === null) return false;
  const { exp, created, active, cap, owner } = m;
  const finite = Number.isFinite(exp) && Number.isFinite(created) && Number.isFinite(active);
  return finite && (cap === undefined || Number.isFinite(cap)) && (owner === null || typeof owner === "string");
}

/** A tombstone's end, or undefined when `value` is not a tombstone. */
export function tombstoneUntil(value: unknown): number | undefined {
  const until = (value as { until?: unknown } | null)?.until;
  return typeof until === "number" && Number.isFinite(until) ? until : undefined;
}

/** Ids and types naming Object.prototype members break databank's memory driver (records are object properties). */
const PROTOTYPE_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));
export const isPrototypeName = (name: string): boolean => PROTOTYPE_NAMES.has(name);
