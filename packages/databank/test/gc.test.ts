import { serviceGate } from "@sessionkit/conformance";
import type { SessionBackend } from "@sessionkit/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type DatabankLike, databankAdapter } from "../src/index.js";
import { bankCall, connectedBank, deleteRedisKeys, redisCommand, redisParams, testType } from "./helpers.js";

const HOUR = 3_600_000;
const rec = (id: string, expiresAt: number, owner: string | null = null) => ({
  id,
  payload: `{"id":"${id}"}`,
  expiresAt,
  owner,
});

/** A real databank, counting the session records it hands back (reads, readAll hits, scans). */
function counting(bank: DatabankLike, type: string) {
  const stats = { recordsRead: 0, scans: 0 };
  const wrapped: DatabankLike = Object.create(bank);
  wrapped.read = (t, id, cb) => {
    if (t === type) stats.recordsRead++;
    bank.read(t, id, cb);
  };
  wrapped.readAll = (t, ids, cb) => {
    if (t === type) stats.recordsRead += ids.length;
    bank.readAll(t, ids, cb);
  };
  wrapped.scan = (t, onResult, cb) => {
    if (t === type) stats.scans++;
    bank.scan(t, onResult, cb);
  };
  return { bank: wrapped, stats };
}

async function fill(backend: SessionBackend, prefix: string, n: number, expiresAt: number) {
  for (let i = 0; i < n; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, n - i) }, (_, j) => backend.upsert(rec(`${prefix}-${i + j}`, expiresAt))),
    );
  }
}

async function drain(backend: SessionBackend, now: number, limit = 1000): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await backend.deleteExpired(now, limit);
    total += deleted;
    if (deleted < limit) return total;
  }
}

describe("GC over the expiry index (memory driver)", () => {
  let bank: DatabankLike;
  const opened: SessionBackend[] = [];
  const adapter = (b: DatabankLike, options: Parameters<typeof databankAdapter>[1]) => {
    const backend = databankAdapter(b, options);
    opened.push(backend);
    return backend;
  };
  beforeAll(async () => {
    bank = await connectedBank("memory");
  });
  afterEach(async () => {
    for (const b of opened.splice(0)) await b.close();
  });
  afterAll(async () => {
    await bankCall((cb) => bank.disconnect(cb));
  });

  it("reads the expired sessions, not all of them: the cost follows the expired count", async () => {
    const readsFor = async (type: string, live: number) => {
      const { bank: b, stats } = counting(bank, type);
      const backend = adapter(b, { type, sweepInterval: 0, indexDelay: 0 });
      await backend.init();
      const now = Date.now();
      await fill(backend, "live", live, now + HOUR);
      await fill(backend, "dead", 50, now - 1000);
      stats.recordsRead = 0;
      expect(await drain(backend, Date.now())).toBe(50);
      expect(stats.scans).toBe(0);
      return stats.recordsRead;
    };
    const small = await readsFor("cost_small", 1000);
    const large = await readsFor("cost_large", 4000);
    expect(small).toBeLessThan(200);
    expect(large).toBe(small); // four times the sessions, the same work
  });

  it("a record that lost its index entry is collected by the next sweep, not before", async () => {
    const type = "lost_entry";
    const backend = adapter(bank, { type, sweepInterval: 0, indexDelay: 0 });
    await backend.init();
    // Written behind the index's back: what a crash between record and index write leaves.
    await bankCall((cb) =>
      bank.save(
        type,
        "orphan",
        { sessionkit: 1, sid: "orphan", payload: "{}", expiresAt: Date.now() - 1, owner: null },
        cb,
      ),
    );
    await backend.upsert(rec("indexed", Date.now() - 1));
    expect(await drain(backend, Date.now())).toBe(1);
    expect(await backend.get("orphan")).not.toBeNull();

    const sweeping = adapter(bank, { type, sweepInterval: HOUR });
    await sweeping.init();
    expect(await drain(sweeping, Date.now())).toBe(1);
    expect(await backend.get("orphan")).toBeNull();
    // The sweep is on record for the interval: the next run does not scan again.
    const { bank: b, stats } = counting(bank, type);
    const again = adapter(b, { type, sweepInterval: HOUR });
    await again.init();
    await drain(again, Date.now());
    expect(stats.scans).toBe(0);
  });

  it("a stale entry never deletes a session that was rewritten to live", async () => {
    const backend = adapter(bank, { type: "stale", sweepInterval: 0, indexDelay: 0 });
    await backend.init();
    await backend.upsert(rec("renewed", Date.now() - 1000));
    await backend.deleteExpired(Date.now() - 5000, 10); // flushes the entry for the expired write
    await backend.upsert(rec("renewed", Date.now() + HOUR));
    expect(await drain(backend, Date.now())).toBe(0);
    expect(await backend.get("renewed")).not.toBeNull();
    // At its new expiry, its new entry collects it.
    expect(await drain(backend, Date.now() + 2 * HOUR)).toBe(1);
  });

  it("GC leaves an expired session alone while this process is rewriting it, and re-checks it later", async () => {
    // The rewrite reaches the database between GC's read (expired) and its delete.
    let heldSave: (() => void) | undefined;
    const racing: DatabankLike = Object.create(bank);
    racing.save = (t, id, value, cb) => {
      if (id === "rewritten" && (value as { expiresAt: number }).expiresAt > Date.now()) {
        heldSave = () => bank.save(t, id, value, cb);
      } else bank.save(t, id, value, cb);
    };
    racing.del = (t, id, cb) => {
      heldSave?.();
      heldSave = undefined;
      bank.del(t, id, cb);
    };
    const backend = adapter(racing, { type: "rewritten", sweepInterval: 0, indexDelay: 0 });
    await backend.init();
    await backend.upsert(rec("rewritten", Date.now() - 1000));
    await backend.upsert(rec("expired", Date.now() - 1000));
    await backend.deleteExpired(Date.now() - 5000, 10); // flushes the entries of the expired writes
    const rewrite = backend.upsert(rec("rewritten", Date.now() + HOUR)); // held: in flight during GC
    expect(await backend.deleteExpired(Date.now(), 10)).toBe(1); // "expired" only
    heldSave?.();
    await rewrite;
    expect(await backend.get("rewritten")).not.toBeNull();
    expect(await drain(backend, Date.now())).toBe(0); // its old entry is read again and dropped
    expect(await drain(backend, Date.now() + 2 * HOUR)).toBe(1);
  });

  it("entries written behind a GC are found by the next GC (index writes are batched)", async () => {
    const backend = adapter(bank, { type: "batched", sweepInterval: 0, indexDelay: 60_000 });
    await backend.init();
    await backend.upsert(rec("late", Date.now() - 1));
    // The entry is still pending (60 s delay): deleteExpired writes it first, then collects.
    expect(await backend.deleteExpired(Date.now(), 10)).toBe(1);
  });

  it("a session written many times in one index window is read and counted once", async () => {
    const { bank: b, stats } = counting(bank, "rewritten");
    const backend = adapter(b, { type: "rewritten", sweepInterval: 0, indexDelay: 60_000 });
    await backend.init();
    for (let i = 0; i < 5; i++) await backend.upsert(rec("again", Date.now() - 1));
    await backend.upsert(rec("other", Date.now() - 1));
    stats.recordsRead = 0;
    expect(await drain(backend, Date.now(), 10)).toBe(2);
    expect(stats.recordsRead).toBe(2);
  });

  it("close() writes pending index entries, so another process's GC finds them", async () => {
    const type = "close_flush";
    const writer = databankAdapter(bank, { type, sweepInterval: 0, indexDelay: 60_000 });
    await writer.init();
    await writer.upsert(rec("pending", Date.now() - 1));
    await writer.close();
    const collector = adapter(bank, { type, sweepInterval: 0 });
    await collector.init();
    expect(await drain(collector, Date.now())).toBe(1);
  });

  it("destroyByOwner stays right while its owner set is compacted", async () => {
    const backend = adapter(bank, { type: "owners", sweepInterval: 0, indexDelay: 0 });
    await backend.init();
    // One append per upsert here (no batching), so the set is compacted twice along the way.
    for (let i = 0; i < 40; i++) {
      await backend.upsert(rec(`dave-${i}`, Date.now() + HOUR, "dave"));
      await backend.deleteExpired(Date.now(), 1); // flushes: one chunk per session
    }
    for (let i = 0; i < 10; i++) await backend.destroy(`dave-${i}`);
    await backend.upsert(rec("dave-0", Date.now() + HOUR, "erin")); // re-owned
    await backend.upsert(rec("erin-1", Date.now() + HOUR, "erin"));
    expect(await backend.destroyByOwner("dave")).toBe(30);
    expect(await backend.destroyByOwner("dave")).toBe(0);
    expect(await backend.destroyByOwner("erin")).toBe(2);
  });

  it("GC far in the future walks the buckets between and collects everything due", async () => {
    const backend = adapter(bank, { type: "future", sweepInterval: 0, indexDelay: 0, bucketMs: 1000 });
    await backend.init();
    const now = Date.now();
    for (let i = 1; i <= 5; i++) await backend.upsert(rec(`in-${i}h`, now + i * HOUR));
    expect(await drain(backend, now + 3 * HOUR + 1)).toBe(3);
    expect(await backend.count(now)).toBe(2);
  });
});

const redisSkip = await serviceGate("Redis", () => redisCommand("PING"));
describe.skipIf(Boolean(redisSkip))("GC over the expiry index (databank-redis)", () => {
  const type = testType("gc");
  afterAll(async () => {
    await deleteRedisKeys(type);
  });

  it("two processes indexing into one bucket at once lose no entry", async () => {
    // Two adapters with their own connections: their appends to one bucket truly interleave.
    const a = databankAdapter({ driver: "redis", params: redisParams }, { type, sweepInterval: 0, indexDelay: 1 });
    const b = databankAdapter({ driver: "redis", params: redisParams }, { type, sweepInterval: 0, indexDelay: 1 });
    await Promise.all([a.init(), b.init()]);
    const expired = Date.now() - 1000;
    await Promise.all([fill(a, "a", 300, expired), fill(b, "b", 300, expired)]);
    // No sweep: only the index can find them, so every entry must have survived the race.
    expect(await drain(a, Date.now(), 250)).toBe(600);
    expect(await a.count(0)).toBe(0);
    await Promise.all([a.close(), b.close()]);
  });

  it("counts records read by GC on redis too: 10 expired among 2000", async () => {
    const bank = await connectedBank("redis", redisParams);
    const { bank: counted, stats } = counting(bank, `${type}_cost`);
    const backend = databankAdapter(counted, { type: `${type}_cost`, sweepInterval: 0, indexDelay: 0 });
    await backend.init();
    await fill(backend, "live", 2000, Date.now() + HOUR);
    await fill(backend, "dead", 10, Date.now() - 1000);
    stats.recordsRead = 0;
    expect(await drain(backend, Date.now())).toBe(10);
    expect(stats.recordsRead).toBeLessThan(100);
    await backend.close();
    await bankCall((cb) => bank.disconnect(cb));
  });
});
