import type { SessionRecord } from "@sessionkit/core/kit";
import {
  isConnectDatabankRecord,
  isVersion1Record,
  legacyExpiry,
  META,
  sessionPayload,
  toSessionObject,
} from "./legacy.js";

/**
 * What the adapter stores, in three databank types (nothing to create: databank makes a type on
 * its first write):
 *
 * - `<type>`: one record per session, keyed by id. Either sessionkit's compact layout
 *   `{ sid, cookie: { expires: <epoch ms> }, _sessionkit: Meta, payload }` or, with `connectDatabank`, the
 *   session object itself as connect-databank stores it plus `_sessionkit: Meta`. Both carry a
 *   `cookie.expires` so that connect-databank, after a rollback, reads them without crashing.
 * - `<type>_tombstones`: `{ sid, until, at }` per destroyed id; the session's record is deleted.
 * - `<type>_index`: append-only logs (see `Logs`): per expiry bucket `x:<bucket>` and per owner
 *   `o:<length>:<owner>`, a counter (`incr`) and immutable chunks `<log>#<n>` = `{ k, ids }`;
 *   an owner log's floor `<log>#f` = `{ k, f }`; `lo` = the lowest bucket that may hold entries.
 */
export interface Meta {
  /** The stored expiry (epoch ms), after the lifetime cap. */
  exp: number;
  /** createdAt and lastActiveAt. */
  created: number;
  active: number;
  owner: string | null;
  /** createdAt + maxLifetimeMs, when a lifetime was set: no view of the expiry goes past it. */
  cap?: number;
}

/** A record read back. */
export interface Found {
  record: SessionRecord;
  /** The expiry the indexes list the record under (`Meta.exp`); undefined when it is not indexed (legacy). */
  indexedExp: number | undefined;
  /** A connect-databank record without a cookie expiry: its expiry is a guess (`legacyTtl` from `now`). */
  guessed: boolean;
}

export type Layout = "compact" | "connect-databank";

/** The value stored for one session. */
export function encodeSession(layout: Layout, id: string, payload: string, meta: Meta): object {
  const session = layout === "connect-databank" ? toSessionObject(id, payload, meta, meta.exp) : undefined;
  // connect-databank compares a cookie.expires that is not a string as it is: a number will do.
  return session ?? { sid: id, cookie: { expires: meta.exp }, _sessionkit: meta, payload };
}

/**
 * Reads one stored value as a session record, or undefined when it is not one (damaged,
 * an array, an unrelated value, a record missing parts). Ours, connect-databank's and version
 * 0.1's are recognised; `id` is the key (or, for a scan, the value's own `sid`).
 */
export function decodeSession(
  value: unknown,
  id: string | undefined,
  now: number,
  legacyTtl: number,
): Found | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const bag = value as Record<string, unknown>;
  const key = id ?? (typeof bag.sid === "string" ? bag.sid : undefined);
  if (key === undefined) return undefined;
  if (Object.hasOwn(bag, META)) {
    const meta = bag[META] as Meta;
    if (!isMeta(meta)) return undefined;
    const cookie = bag.cookie as Record<string, unknown> | null | undefined;
    // The later of our expiry and the cookie's: connect-databank moves cookie.expires when it
    // keeps a session alive (after a rollback), and going forward again must not log it out. In
    // the compact layout the cookie is sessionkit's own `{ expires }` until connect-databank
    // saves the record again (as a whole session: then it has `originalMaxAge`).
    const moved = typeof cookie === "object" && cookie !== null && "originalMaxAge" in cookie;
    const expiresAt = Math.min(Math.max(meta.exp, (moved && legacyExpiry(bag)) || -Infinity), meta.cap ?? Infinity);
    let payload: string;
    if (typeof bag.payload === "string") payload = bag.payload;
    else if (moved) payload = sessionPayload(bag, key);
    else return undefined;
    const record = {
      id: key,
      payload,
      expiresAt,
      owner: meta.owner,
      createdAt: meta.created,
      lastActiveAt: meta.active,
    };
    return { record, indexedExp: meta.exp, guessed: false };
  }
  if (isVersion1Record(bag)) {
    return {
      record: { id: key, payload: bag.payload, expiresAt: bag.expiresAt, owner: bag.owner },
      indexedExp: undefined,
      guessed: false,
    };
  }
  if (!isConnectDatabankRecord(bag)) return undefined;
  const expires = legacyExpiry(bag);
  const payload = sessionPayload(bag, key);
  return {
    record: { id: key, payload, expiresAt: expires ?? now + legacyTtl, owner: null },
    indexedExp: undefined,
    guessed: expires === undefined,
  };
}

function isMeta(meta: unknown): meta is Meta {
  const m = meta as Partial<Meta> | null;
  return (
    typeof m === "object" &&
    m !== null &&
    Number.isFinite(m.exp) &&
    Number.isFinite(m.created) &&
    Number.isFinite(m.active) &&
    (m.owner === null || typeof m.owner === "string") &&
    (m.cap === undefined || Number.isFinite(m.cap))
  );
}

/** A tombstone's end, or undefined when `value` is not a tombstone. */
export function tombstoneUntil(value: unknown): number | undefined {
  const until = (value as { until?: unknown } | null)?.until;
  return typeof until === "number" && Number.isFinite(until) ? until : undefined;
}

/** Keys of the index type. An owner's length prefix keeps every owner's keys apart from every other's. */
export const LO = "lo";
export const bucketLog = (bucket: number): string => `x:${bucket}`;
export const ownerLog = (owner: string): string => `o:${owner.length}:${owner}`;
export const chunkKey = (log: string, n: number): string => `${log}#${n}`;
export const floorKey = (log: string): string => `${log}#f`;

/** Ids naming Object.prototype members break databank's memory driver (records are object properties). */
const PROTOTYPE_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));
export const isPrototypeName = (name: string): boolean => PROTOTYPE_NAMES.has(name);
