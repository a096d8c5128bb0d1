import type { SessionBackend, SessionRecord } from "@sessionkit/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { awkwardIds, largePayload, payload, unicodePayload, uniqueId, write } from "./fixtures.js";
import type { ConformanceOptions } from "./options.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * The definition of the SessionBackend contract, as tests. A backend is correct when this
 * passes on the real database. `factory` makes a backend over the database under test; it is
 * called once for the suite, and again where a second instance (another process sharing the
 * database) is needed. The suite calls `init()` first, `clear()` before each test and `close()`
 * at the end.
 *
 * Time comes from the tests, never from a clock: every call gets its `now`. Records are written
 * live at the time of writing (as the core writes them) and read at later moments.
 */
export function backendConformance(
  name: string,
  factory: () => SessionBackend | Promise<SessionBackend>,
  options: ConformanceOptions = {},
): void {
  describe.skipIf(Boolean(options.skip))(`SessionBackend conformance: ${name}`, () => {
    let backend: SessionBackend;
    const others: SessionBackend[] = [];
    // Real time at the start: a backend whose database expires keys by itself sees the records
    // written below as live until their expiry on the real clock too.
    const T0 = Date.now();
    const live = T0 + HOUR;
    const later = T0 + 2 * HOUR; // every record expiring at `live` has expired by then

    const caps = () => backend.capabilities ?? {};
    const ownersSupported = () => caps().owners !== false;
    const shared = options.shared !== false;

    beforeAll(async () => {
      backend = await factory();
      await backend.init();
    });
    beforeEach(async () => {
      await backend.clear();
    });
    afterAll(async () => {
      for (const other of others) await other.close();
      await backend?.close();
    });

    /** A second instance over the same database, closed at the end. */
    async function second(): Promise<SessionBackend> {
      const other = await factory();
      others.push(other);
      await other.init();
      return other;
    }

    async function collect(at: number, from: SessionBackend = backend): Promise<SessionRecord[]> {
      const out: SessionRecord[] = [];
      for await (const r of from.stream(at)) out.push(r);
      return out;
    }

    /** Deletes what is expired at `at` in batches of `limit`; resolves with the batch sizes. */
    async function drain(at: number, limit: number): Promise<number[]> {
      const batches: number[] = [];
      for (;;) {
        const deleted = await backend.deleteExpired(at, limit);
        expect(deleted).toBeLessThanOrEqual(limit);
        batches.push(deleted);
        if (deleted < limit) return batches;
      }
    }

    const storable = () => awkwardIds.filter((id) => !caps().idProblem?.(id));

    describe("records", () => {
      it("init() is idempotent", async () => {
        await backend.init();
        await backend.init();
        await backend.upsert(write("after-init", live));
        expect(await backend.get("after-init", T0)).not.toBeNull();
      });

      it("get() of a missing id is null", async () => {
        expect(await backend.get(uniqueId("missing"), T0)).toBeNull();
      });

      it("round-trips a record with and without owner, with its creation and activity times", async () => {
        const [a, b] = [uniqueId(), uniqueId()];
        await backend.upsert(write(a, live, { payload: payload({ a: 1 }), now: T0 }));
        await backend.upsert(write(b, live + 1, { payload: payload({ b: 2 }), owner: "user-42", now: T0 + 5 }));
        const gotA = await backend.get(a, T0);
        const gotB = await backend.get(b, T0);
        expect(gotA).toMatchObject({ id: a, payload: payload({ a: 1 }), expiresAt: live, owner: null });
        expect(gotB).toMatchObject({ id: b, payload: payload({ b: 2 }), expiresAt: live + 1 });
        expect(gotB?.owner).toBe(ownersSupported() ? "user-42" : null);
        if (caps().createdAt) {
          expect(gotA).toMatchObject({ createdAt: T0, lastActiveAt: T0 });
          expect(gotB).toMatchObject({ createdAt: T0 + 5, lastActiveAt: T0 + 5 });
        }
      });

      it("keeps expiry to the millisecond, far into the future", async () => {
        const farFuture = Date.UTC(2199, 11, 31, 23, 59, 59, 987);
        const id = uniqueId();
        await backend.upsert(write(id, farFuture, { now: T0 }));
        expect((await backend.get(id, T0))?.expiresAt).toBe(farFuture);
      });

      it("round-trips unicode payloads byte for byte", async () => {
        const id = uniqueId();
        await backend.upsert(write(id, live, { payload: unicodePayload }));
        expect((await backend.get(id, T0))?.payload).toBe(unicodePayload);
      });

      it("round-trips a large payload", async () => {
        const limit = caps().maxPayloadBytes ?? Number.POSITIVE_INFINITY;
        // 1.6 MB by default: sessions of 1.5 MB exist in the stores users switch from.
        const big = largePayload(Math.min(options.largePayloadBytes ?? 1_600_000, limit - 64));
        const id = uniqueId();
        await backend.upsert(write(id, live, { payload: big }));
        const got = await backend.get(id, T0);
        expect(got?.payload.length).toBe(big.length);
        expect(got?.payload === big).toBe(true);
      });

      it("stores awkward ids as they are (those it does not declare unstorable)", async () => {
        for (const id of storable()) await backend.upsert(write(id, live, { payload: payload({ id }) }));
        for (const id of storable()) expect((await backend.get(id, T0))?.payload).toBe(payload({ id }));
        const ids = (await collect(T0)).map((r) => r.id).sort();
        expect(ids).toEqual([...storable()].sort());
      });

      it("an update replaces payload, expiry and owner, keeps createdAt and moves lastActiveAt", async () => {
        const id = uniqueId();
        await backend.upsert(write(id, live, { payload: payload({ v: 1 }), owner: "old-owner", now: T0 }));
        await backend.upsert(write(id, live + 5000, { payload: payload({ v: 2 }), owner: "new-owner", now: T0 + 10 }));
        const got = await backend.get(id, T0 + 10);
        expect(got?.payload).toBe(payload({ v: 2 }));
        expect(got?.expiresAt).toBe(live + 5000);
        if (caps().createdAt) expect(got).toMatchObject({ createdAt: T0, lastActiveAt: T0 + 10 });
        if (ownersSupported()) {
          expect(got?.owner).toBe("new-owner");
          expect(await backend.listByOwner("old-owner", T0 + 10)).toEqual([]);
          expect(await backend.destroyByOwner("old-owner")).toBe(0);
          expect(await backend.get(id, T0 + 10)).not.toBeNull();
        }
      });

      it("100 concurrent upserts of one id all succeed and the last write wins", async () => {
        const id = uniqueId("race");
        const payloads = Array.from({ length: 100 }, (_, i) => payload({ writer: i }));
        await Promise.all(payloads.map((p, i) => backend.upsert(write(id, live + i, { payload: p, now: T0 }))));
        const got = await backend.get(id, T0);
        expect(payloads).toContain(got?.payload);
        // The winner is one whole write: its payload and its expiry belong together.
        expect(got?.expiresAt).toBe(live + payloads.indexOf(got?.payload as string));
        await backend.upsert(write(id, live, { payload: payload({ after: "race" }) }));
        expect((await backend.get(id, T0))?.payload).toBe(payload({ after: "race" }));
      });

      it("concurrent first inserts of one new id do not fail", async () => {
        const id = uniqueId("insert-race");
        await Promise.all(
          Array.from({ length: 20 }, (_, i) => backend.upsert(write(id, live, { payload: payload({ i }) }))),
        );
        expect(await backend.get(id, T0)).not.toBeNull();
        expect(await backend.count(T0)).toBe(1);
      });

      it("destroy without a tombstone deletes one record; destroying a missing one is a no-op", async () => {
        const [a, b] = [uniqueId(), uniqueId()];
        await backend.upsert(write(a, live));
        await backend.upsert(write(b, live));
        await backend.destroy(a);
        await backend.destroy(a);
        await backend.destroy(uniqueId("never"));
        expect(await backend.get(a, T0)).toBeNull();
        expect(await backend.get(b, T0)).not.toBeNull();
        await backend.upsert(write(a, live, { payload: payload({ again: true }) }));
        expect((await backend.get(a, T0))?.payload).toBe(payload({ again: true }));
      });

      it("clear deletes everything", async () => {
        for (let i = 0; i < 5; i++) await backend.upsert(write(uniqueId(), i % 2 ? live : T0 + MINUTE));
        await backend.clear();
        expect(await backend.count(0)).toBe(0);
        expect(await collect(0)).toEqual([]);
      });
    });

    describe("touch", () => {
      it("moves the expiry and lastActiveAt, and leaves payload, owner and createdAt alone", async () => {
        const id = uniqueId();
        await backend.upsert(write(id, live, { payload: payload({ keep: "me" }), owner: "owner-t", now: T0 }));
        await backend.touch({ id, expiresAt: live + MINUTE, now: T0 + 7, owner: "owner-t" });
        const got = await backend.get(id, T0 + 7);
        expect(got?.expiresAt).toBe(live + MINUTE);
        expect(got?.payload).toBe(payload({ keep: "me" }));
        if (ownersSupported()) expect(got?.owner).toBe("owner-t");
        if (caps().createdAt) expect(got).toMatchObject({ createdAt: T0, lastActiveAt: T0 + 7 });
      });

      it("can also shorten the expiry", async () => {
        const id = uniqueId();
        await backend.upsert(write(id, live));
        await backend.touch({ id, expiresAt: T0 + MINUTE, now: T0, owner: null });
        expect((await backend.get(id, T0))?.expiresAt).toBe(T0 + MINUTE);
      });

      it("of a missing id is a no-op and creates nothing", async () => {
        const id = uniqueId("ghost");
        await backend.touch({ id, expiresAt: live, now: T0, owner: null });
        expect(await backend.get(id, T0)).toBeNull();
        expect(await backend.count(T0)).toBe(0);
      });

      it("never revives a record that has expired, whether or not GC ran", async () => {
        const id = uniqueId("expired");
        await backend.upsert(write(id, live, { payload: payload({ old: true }) }));
        await backend.upsert(write("at-the-moment", live));
        // Later, after both expired (one exactly at that moment), two late touches arrive.
        await backend.touch({ id, expiresAt: later + HOUR, now: later, owner: null });
        await backend.touch({ id: "at-the-moment", expiresAt: live + HOUR, now: live, owner: null });
        expect(await backend.count(later)).toBe(0);
        expect(await backend.count(live)).toBe(0);
        const stored = await backend.get(id, later);
        if (stored) expect(stored.expiresAt).toBe(live); // a backend may also have deleted it
      });
    });

    describe("time", () => {
      it("count and stream see only records live at the given moment, whether or not GC ran", async () => {
        await backend.upsert(write("short", T0 + MINUTE, { now: T0 }));
        await backend.upsert(write("exactly", T0 + 2 * MINUTE, { now: T0 }));
        await backend.upsert(write("long-1", live, { now: T0 }));
        await backend.upsert(write("long-2", live + 1, { payload: payload({ x: true }), owner: "o", now: T0 }));
        const at = T0 + 2 * MINUTE; // "short" expired before, "exactly" at this moment
        expect(await backend.count(at)).toBe(2);
        const streamed = await collect(at);
        expect(streamed.map((r) => r.id).sort()).toEqual(["long-1", "long-2"]);
        expect(streamed.find((r) => r.id === "long-2")).toMatchObject({
          payload: payload({ x: true }),
          expiresAt: live + 1,
          owner: ownersSupported() ? "o" : null,
        });
        expect(await backend.count(T0)).toBe(4);
        // The same records seen from later: everything has expired.
        expect(await backend.count(later)).toBe(0);
        expect(await collect(later)).toEqual([]);
      });

      it("streams many records without losing or repeating any", async () => {
        const n = options.streamRecords ?? 250;
        const ids = Array.from({ length: n }, (_, i) => `bulk-${String(i).padStart(4, "0")}`);
        for (let i = 0; i < n; i += 50) {
          await Promise.all(ids.slice(i, i + 50).map((id) => backend.upsert(write(id, live))));
        }
        const streamed = (await collect(T0)).map((r) => r.id);
        expect(streamed.length).toBe(n);
        expect(new Set(streamed).size).toBe(n);
        expect(await backend.count(T0)).toBe(n);
      });

      it("maxLifetimeMs caps the expiry at createdAt + maxLifetimeMs, through updates and touches", async () => {
        if (!caps().createdAt) return expect(caps().createdAt).not.toBe(true);
        const id = uniqueId("capped");
        const cap = 30 * MINUTE;
        await backend.upsert(write(id, live, { now: T0, maxLifetimeMs: cap }));
        expect((await backend.get(id, T0))?.expiresAt).toBe(T0 + cap);
        await backend.upsert(write(id, T0 + 20 * MINUTE, { now: T0 + MINUTE, maxLifetimeMs: cap }));
        expect((await backend.get(id, T0))?.expiresAt).toBe(T0 + 20 * MINUTE);
        await backend.touch({ id, expiresAt: later, now: T0 + 10 * MINUTE, owner: null, maxLifetimeMs: cap });
        expect((await backend.get(id, T0))?.expiresAt).toBe(T0 + cap);
        await backend.upsert(write(id, later, { now: T0 + 20 * MINUTE, maxLifetimeMs: cap }));
        expect((await backend.get(id, T0))?.expiresAt).toBe(T0 + cap);
        expect(await backend.count(T0 + cap)).toBe(0);
      });
    });

    describe.skipIf(options.nativeExpiry === true)("garbage collection", () => {
      it("deleteExpired deletes in bounded batches and never a live record", async () => {
        for (let i = 0; i < 25; i++) await backend.upsert(write(`old-${i}`, T0 + i + 1, { now: T0 }));
        await backend.upsert(write("boundary", T0 + MINUTE, { now: T0 }));
        for (let i = 0; i < 10; i++) await backend.upsert(write(`live-${i}`, T0 + MINUTE + 1 + i, { now: T0 }));
        const batches = await drain(T0 + MINUTE, 10);
        expect(batches.reduce((a, b) => a + b, 0)).toBe(26);
        expect(await backend.count(T0 + MINUTE)).toBe(10);
        for (let i = 0; i < 10; i++) expect(await backend.get(`live-${i}`, T0)).not.toBeNull();
        expect(await backend.get("old-0", T0)).toBeNull();
        expect(await backend.get("boundary", T0)).toBeNull();
        expect(await backend.deleteExpired(T0 + MINUTE, 10)).toBe(0);
      });

      it("deleteExpired follows touches: a touched record is judged by its new expiry", async () => {
        await backend.upsert(write("was-expiring", T0 + MINUTE, { now: T0 }));
        await backend.upsert(write("was-live", live, { now: T0 }));
        await backend.touch({ id: "was-expiring", expiresAt: live, now: T0 + 1, owner: null });
        await backend.touch({ id: "was-live", expiresAt: T0 + MINUTE, now: T0 + 1, owner: null });
        expect(await backend.deleteExpired(T0 + 2 * MINUTE, 100)).toBe(1);
        expect(await backend.get("was-expiring", T0)).not.toBeNull();
        expect(await backend.get("was-live", T0)).toBeNull();
      });

      it("deleteExpired is stateless: each call starts from what is stored, whichever instance made the last", async () => {
        for (let i = 0; i < 30; i++) await backend.upsert(write(`b-${i}`, T0 + 10_000 + i, { now: T0 }));
        const at = T0 + MINUTE;
        expect(await backend.deleteExpired(at, 10)).toBe(10);
        // Records expiring before everything deleted so far, written after the first batch.
        for (let i = 0; i < 5; i++) await backend.upsert(write(`a-${i}`, T0 + 1 + i, { now: T0 }));
        const other = shared ? await second() : backend;
        expect(await other.deleteExpired(at, 10)).toBe(10);
        // A session touched into the past behind everything already collected.
        await backend.upsert(write("touched-back", live, { now: T0 }));
        await backend.touch({ id: "touched-back", expiresAt: T0 + 2, now: T0 + 1, owner: null });
        const rest = await drain(at, 10);
        expect(rest.reduce((a, b) => a + b, 0)).toBe(16);
        expect(await backend.count(T0)).toBe(0);
        expect(await collect(0)).toEqual([]);
      });
    });

    describe("owners", () => {
      it(
        options.owners === false
          ? "declares that it stores no owners"
          : "destroyByOwner ends every record of one owner and nothing else",
        async () => {
          if (options.owners === false) {
            expect(caps().owners).toBe(false);
            return;
          }
          expect(caps().owners).not.toBe(false);
          for (let i = 0; i < 3; i++) await backend.upsert(write(`alice-${i}`, live, { owner: "alice" }));
          for (let i = 0; i < 2; i++) await backend.upsert(write(`bob-${i}`, live, { owner: "bob" }));
          await backend.upsert(write("nobody", live));
          expect(await backend.destroyByOwner("alice")).toBe(3);
          expect(await backend.destroyByOwner("alice")).toBe(0);
          expect(await backend.destroyByOwner("carol")).toBe(0);
          expect(await backend.count(T0)).toBe(3);
          expect(await backend.get("bob-1", T0)).not.toBeNull();
          expect(await backend.get("nobody", T0)).not.toBeNull();
        },
      );

      it.skipIf(options.owners === false)("destroyByOwner with except keeps that one session", async () => {
        for (let i = 0; i < 3; i++) await backend.upsert(write(`dev-${i}`, live, { owner: "dana" }));
        expect(await backend.destroyByOwner("dana", { except: "dev-1" })).toBe(2);
        expect(await backend.get("dev-0", T0)).toBeNull();
        expect(await backend.get("dev-1", T0)).not.toBeNull();
        expect((await backend.listByOwner("dana", T0)).map((r) => r.id)).toEqual(["dev-1"]);
      });

      it.skipIf(options.owners === false)(
        "listByOwner answers each owner's live records, across many owners",
        async () => {
          const owners = Array.from({ length: 20 }, (_, i) => `owner-${i}`);
          await Promise.all(
            owners.flatMap((owner, o) =>
              [0, 1, 2].map((k) =>
                backend.upsert(write(`${owner}-s${k}`, k === 2 ? T0 + MINUTE : live, { owner, now: T0 + o })),
              ),
            ),
          );
          for (const [o, owner] of owners.entries()) {
            const listed = await backend.listByOwner(owner, T0 + 2 * MINUTE);
            expect(listed.map((r) => r.id).sort()).toEqual([`${owner}-s0`, `${owner}-s1`]);
            for (const record of listed) {
              expect(record).toMatchObject({ owner, expiresAt: live, payload: payload({ n: 1 }) });
              if (caps().createdAt) expect(record).toMatchObject({ createdAt: T0 + o, lastActiveAt: T0 + o });
            }
          }
          expect(await backend.listByOwner("nobody-at-all", T0)).toEqual([]);
        },
      );
    });

    describe.skipIf(options.tombstones === false)("tombstones", () => {
      const tombstone = (now: number, until = now + HOUR) => ({ now, until });

      it("declares them", () => {
        expect(caps().tombstones).toBe(true);
      });

      it("a destroyed id stays unwritable until the tombstone passes, and is never read, counted or listed", async () => {
        const id = uniqueId("logout");
        await backend.upsert(write(id, live, { owner: ownersSupported() ? "eve" : null, now: T0 }));
        await backend.destroy(id, tombstone(T0 + 1));
        // A request that loaded the session before the logout finishes after it.
        const refused = await backend.upsert(
          write(id, live + MINUTE, { payload: payload({ late: true }), now: T0 + 2 }),
        );
        expect(refused === false || refused === undefined).toBe(true);
        await backend.touch({ id, expiresAt: live + HOUR, now: T0 + 3, owner: null });
        expect(await backend.get(id, T0 + 3)).toBeNull();
        expect(await backend.count(T0 + 3)).toBe(0);
        expect(await collect(T0 + 3)).toEqual([]);
        if (ownersSupported()) expect(await backend.listByOwner("eve", T0 + 3)).toEqual([]);
        // Once the tombstone has passed, the id is an ordinary new id again.
        const after = T0 + 1 + HOUR;
        const written = await backend.upsert(
          write(id, after + HOUR, { payload: payload({ fresh: true }), now: after }),
        );
        expect(written === true || written === undefined).toBe(true);
        const fresh = await backend.get(id, after);
        expect(fresh?.payload).toBe(payload({ fresh: true }));
        if (caps().createdAt) expect(fresh?.createdAt).toBe(after);
      });

      it("a write refused by a tombstone resolves false where the backend can tell", async () => {
        const id = uniqueId("refused");
        await backend.upsert(write(id, live, { now: T0 - 1 }));
        await backend.destroy(id, tombstone(T0));
        const result = await backend.upsert(write(id, live, { now: T0 + 1 }));
        expect([false, undefined]).toContain(result);
        expect([true, undefined]).toContain(await backend.upsert(write(uniqueId("ok"), live, { now: T0 + 1 })));
      });

      it("destroying an id never written writes nothing (a new session's regenerate costs no row)", async () => {
        const id = uniqueId("never-written");
        await backend.destroy(id, tombstone(T0));
        expect(await backend.deleteExpired(T0 + 2 * HOUR, 10)).toBe(0);
        await backend.upsert(write(id, live, { now: T0 + 1 }));
        expect(await backend.get(id, T0 + 1)).not.toBeNull();
      });

      it("an expired record not yet collected also becomes a tombstone", async () => {
        const id = uniqueId("expired-then-destroyed");
        await backend.upsert(write(id, T0 + MINUTE, { now: T0 }));
        await backend.destroy(id, tombstone(T0 + 2 * MINUTE));
        await backend.upsert(write(id, live, { payload: payload({ late: true }), now: T0 + 3 * MINUTE }));
        expect(await backend.get(id, T0 + 3 * MINUTE)).toBeNull();
      });

      it.skipIf(!shared)("a tombstone holds against a second instance sharing the database", async () => {
        const other = await second();
        const id = uniqueId("two-processes");
        await backend.upsert(write(id, live, { now: T0 }));
        await other.destroy(id, tombstone(T0 + 1));
        await backend.upsert(write(id, live, { payload: payload({ late: true }), now: T0 + 2 }));
        await backend.touch({ id, expiresAt: later, now: T0 + 2, owner: null });
        expect(await backend.get(id, T0 + 2)).toBeNull();
        expect(await other.get(id, T0 + 2)).toBeNull();
      });

      it.skipIf(options.owners === false)(
        "destroyByOwner leaves tombstones: no session of the owner comes back",
        async () => {
          for (let i = 0; i < 3; i++) await backend.upsert(write(`frank-${i}`, live, { owner: "frank", now: T0 }));
          expect(await backend.destroyByOwner("frank", { except: "frank-2", tombstone: tombstone(T0 + 1) })).toBe(2);
          const writer = shared ? await second() : backend;
          for (let i = 0; i < 3; i++) {
            await writer.upsert(
              write(`frank-${i}`, live, { owner: "frank", payload: payload({ late: i }), now: T0 + 2 }),
            );
          }
          expect((await backend.listByOwner("frank", T0 + 2)).map((r) => r.id)).toEqual(["frank-2"]);
          expect(await backend.get("frank-0", T0 + 2)).toBeNull();
          expect((await backend.get("frank-2", T0 + 2))?.payload).toBe(payload({ late: 2 }));
        },
      );

      it.skipIf(options.nativeExpiry === true)("GC collects a tombstone once it has passed, not before", async () => {
        const id = uniqueId("collected");
        await backend.upsert(write("keeper", later + HOUR, { now: T0 }));
        await backend.upsert(write(id, live, { now: T0 - 1 }));
        await backend.destroy(id, tombstone(T0, T0 + MINUTE));
        expect(await backend.deleteExpired(T0 + MINUTE - 1, 10)).toBe(0);
        expect(await backend.deleteExpired(T0 + MINUTE, 10)).toBe(1);
        await backend.upsert(write(id, live, { now: T0 + 30_000 })); // before the tombstone's end, but it is gone
        expect(await backend.get(id, T0 + 30_000)).not.toBeNull();
      });

      it("clear removes tombstones too", async () => {
        const id = uniqueId("cleared");
        await backend.upsert(write(id, live, { now: T0 - 1 }));
        await backend.destroy(id, tombstone(T0));
        await backend.clear();
        await backend.upsert(write(id, live, { now: T0 + 1 }));
        expect(await backend.get(id, T0 + 1)).not.toBeNull();
      });
    });

    it("close() is idempotent on a second instance", async () => {
      const other = await factory();
      await other.init();
      await other.close();
      await other.close();
      // The first instance still works: closing one never closes a client it did not create.
      await backend.upsert(write("still-open", live));
      expect(await backend.get("still-open", T0)).not.toBeNull();
    });
  });
}
