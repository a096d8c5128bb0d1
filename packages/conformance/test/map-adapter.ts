import type { SessionBackend, SessionRecord, SessionTouch, SessionWrite, Tombstone } from "@sessionkit/core/kit";
import { cappedExpiry, readOptions, rules } from "@sessionkit/core/kit";

/** A stored entry: a session, or a tombstone (payload null) until `expiresAt`. */
interface Entry {
  payload: string | null;
  expiresAt: number;
  owner: string | null;
  createdAt: number;
  lastActiveAt: number;
}

/** A complete sessionkit backend over a Map: every capability, in one process. */
export function mapAdapter(options?: { name?: string }): SessionBackend {
  const { name } = readOptions("mapAdapter", options, { name: rules.string("map") });
  const map = new Map<string, Entry>();
  const isSession = (e: Entry | undefined, now: number): e is Entry & { payload: string } =>
    e !== undefined && e.payload !== null && e.expiresAt > now;
  const record = (id: string, e: Entry): SessionRecord => ({ id, ...e, payload: e.payload as string });
  const tombstone = (t: Tombstone): Entry => ({
    payload: null,
    expiresAt: t.until,
    owner: null,
    createdAt: t.now,
    lastActiveAt: t.now,
  });

  return {
    name,
    capabilities: { owners: true, tombstones: true, createdAt: true },
    async init() {},
    async get(id) {
      const e = map.get(id);
      return e && e.payload !== null ? record(id, e) : null;
    },
    async upsert(w: SessionWrite) {
      const old = map.get(w.id);
      if (old && old.payload === null && old.expiresAt > w.now) return false; // a live tombstone
      const createdAt = old && old.payload !== null ? old.createdAt : w.now;
      const expiresAt = cappedExpiry(w, createdAt);
      map.set(w.id, { payload: w.payload, expiresAt, owner: w.owner, createdAt, lastActiveAt: w.now });
      return true;
    },
    async touch(t: SessionTouch) {
      const e = map.get(t.id);
      if (!isSession(e, t.now)) return; // missing, a tombstone, or expired: never revived
      map.set(t.id, { ...e, expiresAt: cappedExpiry(t, e.createdAt), lastActiveAt: t.now });
    },
    async destroy(id, t) {
      if (!map.has(id)) return; // a missing id stays missing
      if (t) map.set(id, tombstone(t));
      else map.delete(id);
    },
    async destroyByOwner(owner, { except, tombstone: t } = {}) {
      let ended = 0;
      for (const [id, e] of map) {
        if (e.owner !== owner || id === except) continue;
        if (t) map.set(id, tombstone(t));
        else map.delete(id);
        ended++;
      }
      return ended;
    },
    async listByOwner(owner, now) {
      return [...map].filter(([, e]) => e.owner === owner && isSession(e, now)).map(([id, e]) => record(id, e));
    },
    async clear() {
      map.clear();
    },
    async deleteExpired(now, limit) {
      // A scan: fine for an example. A real backend reads an index, so GC costs what is expired.
      let deleted = 0;
      for (const [id, e] of map) {
        if (deleted === limit) break;
        if (e.expiresAt <= now && map.delete(id)) deleted++;
      }
      return deleted;
    },
    async count(now) {
      return [...map.values()].filter((e) => isSession(e, now)).length;
    },
    async *stream(now) {
      for (const [id, e] of [...map]) if (isSession(e, now)) yield record(id, e);
    },
    async close() {},
  };
}
