import type { SessionBackend, SessionRecord } from "@sessionkit/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { awkwardIds, largePayload, record, unicodePayload, uniqueId } from "./fixtures.js";
import type { ConformanceOptions } from "./options.js";

const HOUR = 3_600_000;

/**
 * The definition of the SessionBackend contract, as tests. A backend is correct when this
 * passes on the real database. `factory` is called once (plus once for the close test); the
 * suite calls `init()` first, `clear()` before each test and `close()` at the end.
 */
export function backendConformance(
  name: string,
  factory: () => SessionBackend | Promise<SessionBackend>,
  options: ConformanceOptions = {},
): void {
  describe.skipIf(Boolean(options.skip))(`SessionBackend conformance: ${name}`, () => {
    let backend: SessionBackend;
    const now = Date.now();
    const live = now + HOUR;

    beforeAll(async () => {
      backend = await factory();
      await backend.init();
    });
    beforeEach(async () => {
      await backend.clear();
    });
    afterAll(async () => {
      await backend?.close();
    });

    const ownersSupported = () => backend.capabilities?.owners !== false;

    async function collect(at: number): Promise<SessionRecord[]> {
      const out: SessionRecord[] = [];
      for await (const r of backend.stream(at)) out.push(r);
      return out;
    }

    it("init() is idempotent", async () => {
      await backend.init();
      await backend.init();
      await backend.upsert(record("after-init", live));
      expect(await backend.get("after-init")).not.toBeNull();
    });

    it("get() of a missing id is null", async () => {
      expect(await backend.get(uniqueId("missing"))).toBeNull();
    });

    it("round-trips a record with and without owner", async () => {
      const a = record(uniqueId(), live, '{"a":1}', null);
      const b = record(uniqueId(), live + 1, '{"b":2}', "user-42");
      await backend.upsert(a);
      await backend.upsert(b);
      expect(await backend.get(a.id)).toEqual(a);
      expect(await backend.get(b.id)).toEqual(ownersSupported() ? b : { ...b, owner: null });
    });

    it("keeps expiry to the millisecond, far into the future", async () => {
      const farFuture = Date.UTC(2199, 11, 31, 23, 59, 59, 987);
      const id = uniqueId();
      await backend.upsert(record(id, farFuture));
      expect((await backend.get(id))?.expiresAt).toBe(farFuture);
    });

    it("round-trips unicode payloads byte for byte", async () => {
      const id = uniqueId();
      await backend.upsert(record(id, live, unicodePayload));
      expect((await backend.get(id))?.payload).toBe(unicodePayload);
    });

    it("round-trips a large payload", async () => {
      const limit = backend.capabilities?.maxPayloadBytes ?? Number.POSITIVE_INFINITY;
      const payload = largePayload(Math.min(options.largePayloadBytes ?? 1_000_000, limit - 64));
      const id = uniqueId();
      await backend.upsert(record(id, live, payload));
      const got = await backend.get(id);
      expect(got?.payload.length).toBe(payload.length);
      expect(got?.payload === payload).toBe(true);
    });

    it("stores awkward ids as they are", async () => {
      for (const id of awkwardIds) await backend.upsert(record(id, live, JSON.stringify({ id })));
      for (const id of awkwardIds) expect((await backend.get(id))?.payload).toBe(JSON.stringify({ id }));
      const ids = (await collect(now)).map((r) => r.id).sort();
      expect(ids).toEqual([...awkwardIds].sort());
    });

    it("upsert replaces payload, expiry and owner", async () => {
      const id = uniqueId();
      await backend.upsert(record(id, live, '{"v":1}', "old-owner"));
      await backend.upsert(record(id, live + 5000, '{"v":2}', "new-owner"));
      const got = await backend.get(id);
      expect(got?.payload).toBe('{"v":2}');
      expect(got?.expiresAt).toBe(live + 5000);
      if (ownersSupported()) {
        expect(got?.owner).toBe("new-owner");
        expect(await backend.destroyByOwner("old-owner")).toBe(0);
        expect(await backend.get(id)).not.toBeNull();
      }
    });

    it("100 concurrent upserts of one id all succeed and the last write wins", async () => {
      const id = uniqueId("race");
      const payloads = Array.from({ length: 100 }, (_, i) => JSON.stringify({ writer: i }));
      await Promise.all(payloads.map((p, i) => backend.upsert(record(id, live + i, p))));
      const got = await backend.get(id);
      expect(payloads).toContain(got?.payload);
      // The winner is one whole write: its payload and its expiry belong together.
      expect(got?.expiresAt).toBe(live + payloads.indexOf(got?.payload as string));
      await backend.upsert(record(id, live, '{"after":"race"}'));
      expect((await backend.get(id))?.payload).toBe('{"after":"race"}');
    });

    it("concurrent first inserts of one new id do not fail", async () => {
      const id = uniqueId("insert-race");
      await Promise.all(Array.from({ length: 20 }, (_, i) => backend.upsert(record(id, live, `{"i":${i}}`))));
      expect(await backend.get(id)).not.toBeNull();
      expect(await backend.count(now)).toBe(1);
    });

    it("touch moves the expiry and leaves the payload and owner alone", async () => {
      const id = uniqueId();
      await backend.upsert(record(id, live, '{"keep":"me"}', "owner-t"));
      await backend.touch(id, live + 60_000, now);
      const got = await backend.get(id);
      expect(got?.expiresAt).toBe(live + 60_000);
      expect(got?.payload).toBe('{"keep":"me"}');
      if (ownersSupported()) expect(got?.owner).toBe("owner-t");
    });

    it("touch can also shorten the expiry", async () => {
      const id = uniqueId();
      await backend.upsert(record(id, live));
      await backend.touch(id, now + 1000, now);
      expect((await backend.get(id))?.expiresAt).toBe(now + 1000);
    });

    it("touch of a missing id is a no-op and creates nothing", async () => {
      const id = uniqueId("ghost");
      await backend.touch(id, live, now);
      expect(await backend.get(id)).toBeNull();
      expect(await backend.count(now)).toBe(0);
    });

    it("touch never revives a record that has expired, whether or not GC ran", async () => {
      const id = uniqueId("expired");
      await backend.upsert(record(id, now - 1000, '{"old":true}'));
      await backend.upsert(record("at-now", now));
      await backend.touch(id, live, now);
      await backend.touch("at-now", live, now);
      expect(await backend.count(now)).toBe(0);
      const stored = await backend.get(id);
      if (stored) expect(stored.expiresAt).toBe(now - 1000); // a backend may also have deleted it
      expect(await backend.deleteExpired(now, 10)).toBeLessThanOrEqual(2);
      expect(await backend.get(id)).toBeNull();
    });

    it("destroy deletes one record; destroying a missing one is a no-op", async () => {
      const [a, b] = [uniqueId(), uniqueId()];
      await backend.upsert(record(a, live));
      await backend.upsert(record(b, live));
      await backend.destroy(a);
      await backend.destroy(a);
      await backend.destroy(uniqueId("never"));
      expect(await backend.get(a)).toBeNull();
      expect(await backend.get(b)).not.toBeNull();
    });

    it("count and stream see only live records (expiresAt > now), whether or not GC ran", async () => {
      await backend.upsert(record("expired-1", now - 1000));
      await backend.upsert(record("expired-at-now", now));
      await backend.upsert(record("live-1", now + 1));
      await backend.upsert(record("live-2", live, '{"x":true}', "o"));
      expect(await backend.count(now)).toBe(2);
      const streamed = await collect(now);
      expect(streamed.map((r) => r.id).sort()).toEqual(["live-1", "live-2"]);
      const full = streamed.find((r) => r.id === "live-2");
      expect(full).toEqual(record("live-2", live, '{"x":true}', ownersSupported() ? "o" : null));
      // The same records seen from later: everything has expired.
      expect(await backend.count(live)).toBe(0);
      expect(await collect(live)).toEqual([]);
    });

    it(`streams many records without losing or repeating any`, async () => {
      const n = options.streamRecords ?? 250;
      const ids = Array.from({ length: n }, (_, i) => `bulk-${String(i).padStart(4, "0")}`);
      for (let i = 0; i < n; i += 50) {
        await Promise.all(ids.slice(i, i + 50).map((id) => backend.upsert(record(id, live))));
      }
      const streamed = (await collect(now)).map((r) => r.id);
      expect(streamed.length).toBe(n);
      expect(new Set(streamed).size).toBe(n);
      expect(await backend.count(now)).toBe(n);
    });

    it("deleteExpired deletes in bounded batches and never a live record", async () => {
      for (let i = 0; i < 25; i++) await backend.upsert(record(`old-${i}`, now - 100_000 + i));
      await backend.upsert(record("boundary", now));
      for (let i = 0; i < 10; i++) await backend.upsert(record(`live-${i}`, now + 1 + i));
      const batches: number[] = [];
      for (;;) {
        const deleted = await backend.deleteExpired(now, 10);
        expect(deleted).toBeLessThanOrEqual(10);
        batches.push(deleted);
        if (deleted < 10) break;
      }
      expect(batches.reduce((a, b) => a + b, 0)).toBe(26);
      expect(await backend.count(now)).toBe(10);
      for (let i = 0; i < 10; i++) expect(await backend.get(`live-${i}`)).not.toBeNull();
      expect(await backend.get("old-0")).toBeNull();
      expect(await backend.get("boundary")).toBeNull();
      expect(await backend.deleteExpired(now, 10)).toBe(0);
    });

    it("deleteExpired follows touches: a touched record is judged by its new expiry", async () => {
      await backend.upsert(record("was-expiring", now - 10));
      await backend.upsert(record("was-live", live));
      // Both touches happen at a moment when both records were still live.
      await backend.touch("was-expiring", live, now - 100);
      await backend.touch("was-live", now - 10, now - 100);
      expect(await backend.deleteExpired(now, 100)).toBe(1);
      expect(await backend.get("was-expiring")).not.toBeNull();
      expect(await backend.get("was-live")).toBeNull();
    });

    const ownerTest =
      options.owners === false
        ? "declares that it stores no owners"
        : "destroyByOwner deletes every record of one owner and nothing else";
    it(ownerTest, async () => {
      if (options.owners === false) {
        expect(backend.capabilities?.owners).toBe(false);
        return;
      }
      expect(backend.capabilities?.owners).not.toBe(false);
      for (let i = 0; i < 3; i++) await backend.upsert(record(`alice-${i}`, live, "{}", "alice"));
      for (let i = 0; i < 2; i++) await backend.upsert(record(`bob-${i}`, live, "{}", "bob"));
      await backend.upsert(record("nobody", live));
      expect(await backend.destroyByOwner("alice")).toBe(3);
      expect(await backend.destroyByOwner("alice")).toBe(0);
      expect(await backend.destroyByOwner("carol")).toBe(0);
      expect(await backend.count(now)).toBe(3);
      expect(await backend.get("bob-1")).not.toBeNull();
      expect(await backend.get("nobody")).not.toBeNull();
    });

    it("clear deletes everything", async () => {
      for (let i = 0; i < 5; i++) await backend.upsert(record(uniqueId(), i % 2 ? live : now - 1));
      await backend.clear();
      expect(await backend.count(0)).toBe(0);
      expect(await collect(0)).toEqual([]);
    });

    it("close() is idempotent on a second instance", async () => {
      const other = await factory();
      await other.init();
      await other.close();
      await other.close();
      // The first instance still works: closing one never closes a client it did not create.
      await backend.upsert(record("still-open", live));
      expect(await backend.get("still-open")).not.toBeNull();
    });
  });
}
