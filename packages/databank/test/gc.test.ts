import { setImmediate } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { type DatabankLike, databankAdapter } from "../src/index.js";
import { memoryBanks, scanAll } from "./helpers.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2030, 0, 1);
const payload = JSON.stringify({ cookie: { originalMaxAge: null, expires: null } });
const write = (id: string, expiresAt: number, now = T0, owner: string | null = null) => ({
  id,
  payload,
  expiresAt,
  owner,
  now,
});

const newBank = memoryBanks();

/** A real memory bank, behind a wrapper that counts what each call asks for, per type. */
async function countingBank() {
  const bank = await newBank();
  const counts = new Map<string, number>();
  const count = (what: string, n = 1) => counts.set(what, (counts.get(what) ?? 0) + n);
  const counted = Object.create(bank) as DatabankLike;
  counted.read = (type, id, cb) => {
    count(`read ${type}`);
    bank.read(type, id, cb);
  };
  counted.readAll = (type, ids, cb) => {
    count(`read ${type}`, ids.length);
    bank.readAll(type, ids, cb);
  };
  counted.scan = (type, onValue, cb) => {
    count(`scan ${type}`);
    bank.scan(type, onValue, cb);
  };
  counted.incr = (type, id, cb) => {
    count(`incr ${type}`);
    bank.incr(type, id, cb);
  };
  counted.create = (type, id, value, cb) => {
    count(`create ${type}`);
    const gate = held.get(id);
    if (gate) gate.then(() => bank.create(type, id, value, cb));
    else bank.create(type, id, value, cb);
  };
  // An update or create the test holds back until it lets it go: a write still under way.
  const held = new Map<string, Promise<void>>();
  counted.update = (type, id, value, cb) => {
    const gate = held.get(id);
    if (gate) gate.then(() => bank.update(type, id, value, cb));
    else bank.update(type, id, value, cb);
  };
  const backend = databankAdapter(counted, { type: "gc" });
  await backend.init();
  const reset = () => counts.clear();
  return { bank, backend, counts, reset, held, of: (what: string) => counts.get(what) ?? 0 };
}

describe("GC cost follows the expired sessions, not the total", () => {
  it("reads the records of due buckets only, and never scans the sessions", async () => {
    const { backend, of, reset } = await countingBank();
    for (let i = 0; i < 2000; i++) await backend.upsert(write(`live-${i}`, T0 + HOUR));
    for (let i = 0; i < 100; i++) await backend.upsert(write(`old-${i}`, T0 + MINUTE + i));
    reset();
    expect(await backend.deleteExpired(T0 + 3 * MINUTE, 1000)).toBe(100);
    expect(of("read gc")).toBeLessThanOrEqual(100);
    expect(of("scan gc")).toBe(0);
    expect(await backend.count(T0)).toBe(2000);
  });

  it("a touch that extends an expiry writes no index entry; one that shortens it writes one", async () => {
    const { backend, of, reset } = await countingBank();
    await backend.upsert(write("s", T0 + HOUR));
    reset();
    for (let i = 1; i <= 10; i++)
      await backend.touch({ id: "s", expiresAt: T0 + HOUR + i * MINUTE, now: T0 + i, owner: null });
    expect(of("incr gc_index")).toBe(0);
    await backend.touch({ id: "s", expiresAt: T0 + 5 * MINUTE, now: T0 + 20, owner: null });
    expect(of("incr gc_index")).toBe(1);
    // Collected at the shortened expiry; the entries of the longer ones find nothing later.
    expect(await backend.deleteExpired(T0 + 6 * MINUTE, 100)).toBe(1);
    expect(await backend.deleteExpired(T0 + 2 * HOUR, 100)).toBe(0);
  });

  it("an entry a GC run carries forward is found at the session's new expiry", async () => {
    const { backend } = await countingBank();
    await backend.upsert(write("kept", T0 + MINUTE));
    await backend.touch({ id: "kept", expiresAt: T0 + HOUR, now: T0 + 1, owner: null });
    expect(await backend.deleteExpired(T0 + 10 * MINUTE, 100)).toBe(0); // carried to the hour's bucket
    expect(await backend.deleteExpired(T0 + 30 * MINUTE, 100)).toBe(0);
    expect(await backend.deleteExpired(T0 + HOUR, 100)).toBe(1);
  });

  it("a write behind another GC's clock is still collected: writers lower GC's starting bucket", async () => {
    const { backend } = await countingBank();
    await backend.upsert(write("first", T0 + 2 * MINUTE));
    expect(await backend.deleteExpired(T0 + 2 * HOUR, 100)).toBe(1); // GC has moved on to T0 + 2h
    await backend.upsert(write("late", T0 + MINUTE)); // written at T0, expiring before that
    expect(await backend.deleteExpired(T0 + 2 * HOUR, 100)).toBe(1);
  });

  it("after a long pause GC walks a bounded stretch of buckets per call and resumes there", async () => {
    const { backend, of, reset } = await countingBank();
    await backend.upsert(write("a", T0 + MINUTE));
    await backend.upsert(write("b", T0 + 60 * 86_400_000)); // two months on
    const later = T0 + 61 * 86_400_000;
    expect(await backend.deleteExpired(later, 100)).toBe(1);
    reset();
    // The next call starts where the last one stopped (about 23 days of buckets on).
    expect(await backend.deleteExpired(later, 100)).toBe(0);
    expect(of("read gc_index")).toBeLessThan(40_000);
    let total = 0;
    for (let i = 0; i < 5; i++) total += await backend.deleteExpired(later, 100);
    expect(total).toBe(1);
  });

  it("never deletes a session this process is writing: it is left for the next run", async () => {
    const { backend, held } = await countingBank();
    await backend.upsert(write("busy", T0 + MINUTE));
    let release = () => {};
    held.set("busy", new Promise<void>((resolve) => (release = resolve)));
    // A request that loaded the session just before it expired saves it just after.
    const saving = backend.upsert(write("busy", T0 + HOUR, T0 + MINUTE - 1));
    expect(await backend.deleteExpired(T0 + 2 * MINUTE, 100)).toBe(0);
    release();
    expect(await saving).toBe(true);
    expect(await backend.deleteExpired(T0 + 2 * MINUTE, 100)).toBe(0);
    expect((await backend.get("busy", T0 + 2 * MINUTE))?.expiresAt).toBe(T0 + HOUR);
  });
});

describe("index appends", () => {
  it("new sessions written together share one index append (one incr, one chunk), and GC finds them all", async () => {
    const { backend, of, reset } = await countingBank();
    await backend.upsert(write("first", T0 + HOUR)); // creates `lo`
    reset();
    const ids = Array.from({ length: 8 }, (_, i) => `n-${i}`);
    expect(await Promise.all(ids.map((id) => backend.upsert(write(id, T0 + 2 * MINUTE))))).toEqual(ids.map(() => true));
    expect(of("incr gc_index")).toBe(1);
    expect(of("create gc_index")).toBe(1);
    expect(await backend.deleteExpired(T0 + 3 * MINUTE, 100)).toBe(8);
  });

  it("a failed append fails every write that joined it", async () => {
    const bank = await newBank();
    const failing = Object.create(bank) as DatabankLike;
    failing.incr = (_type, _id, cb) => process.nextTick(cb, new Error("incr refused"));
    const backend = databankAdapter(failing, { type: "gc" });
    await backend.init();
    const writes = ["f-1", "f-2", "f-3"].map((id) => backend.upsert(write(id, T0 + HOUR)));
    for (const result of await Promise.allSettled(writes)) {
      expect(result).toMatchObject({ status: "rejected", reason: { message: "incr refused" } });
    }
  });

  it("an incr that is never answered holds up the writes of its turn only", async () => {
    const bank = await newBank();
    const losing = Object.create(bank) as DatabankLike;
    let lost = false;
    losing.incr = (type, id, cb) => {
      if (lost) return bank.incr(type, id, cb);
      lost = true; // the first callback is lost
    };
    const backend = databankAdapter(losing, { type: "gc" });
    await backend.init();
    void backend.upsert(write("stuck", T0 + HOUR, T0, "ann"));
    await setImmediate();
    let stored = false;
    void backend.upsert(write("next", T0 + HOUR, T0, "ann")).then(() => (stored = true));
    for (let turn = 0; turn < 10 && !stored; turn++) await setImmediate();
    expect(stored).toBe(true);
  });

  it("an entry written alongside a new record's create is kept while the create is under way", async () => {
    const { backend, held } = await countingBank();
    let release = () => {};
    held.set("slow", new Promise<void>((resolve) => (release = resolve)));
    const saving = backend.upsert(write("slow", T0 + 2 * MINUTE));
    for (let turn = 0; turn < 5; turn++) await setImmediate(); // the entry (and `lo`) stored
    // GC, its clock past the session's bucket, finds the entry but no record yet: it keeps the entry.
    expect(await backend.deleteExpired(T0 + 5 * MINUTE, 100)).toBe(0);
    release();
    expect(await saving).toBe(true);
    expect(await backend.deleteExpired(T0 + 5 * MINUTE, 100)).toBe(1);
  });

  it("a record created on a destroyed id comes down at once, without waiting for its index entry", async () => {
    const bank = await newBank();
    const gated = Object.create(bank) as DatabankLike;
    let gate: Promise<void> | undefined;
    gated.incr = (type, id, cb) => (gate ? gate.then(() => bank.incr(type, id, cb)) : bank.incr(type, id, cb));
    const backend = databankAdapter(gated, { type: "gc" });
    await backend.init();
    await backend.upsert(write("gone", T0 + HOUR));
    await backend.destroy("gone", { now: T0, until: T0 + HOUR });
    let release = () => {};
    gate = new Promise<void>((resolve) => (release = resolve));
    const late = backend.upsert(write("gone", T0 + HOUR));
    for (let turn = 0; turn < 5; turn++) await setImmediate();
    expect((await scanAll(bank, "gc")).length).toBe(0); // its entry is still waiting for a number
    release();
    expect(await late).toBe(false);
  });

  it("a write refused by a tombstone leaves no record, and GC drops its entry", async () => {
    const { bank, backend } = await countingBank();
    await backend.destroy("gone", { now: T0, until: T0 + HOUR }); // nothing stored: nothing left
    await backend.upsert(write("gone", T0 + 2 * MINUTE));
    await backend.destroy("gone", { now: T0, until: T0 + HOUR });
    expect(await backend.upsert(write("gone", T0 + 2 * MINUTE))).toBe(false);
    expect(await backend.get("gone", T0)).toBeNull();
    expect(await backend.deleteExpired(T0 + 3 * MINUTE, 100)).toBe(0);
    const left = (await scanAll(bank, "gc_index")).filter((v) => String((v as { k?: string }).k).startsWith("x:"));
    expect(left).toEqual([]);
  });
});

describe("owner logs", () => {
  it("a listing rewrites a log gone stale, so the next one reads less", async () => {
    const { backend, of, reset } = await countingBank();
    for (let i = 0; i < 40; i++) await backend.upsert(write(`old-${i}`, T0 + MINUTE, T0, "olga"));
    await backend.upsert(write("live", T0 + HOUR, T0, "olga"));
    expect(await backend.deleteExpired(T0 + 2 * MINUTE, 100)).toBe(40);
    reset();
    expect((await backend.listByOwner("olga", T0 + 2 * MINUTE)).map((r) => r.id)).toEqual(["live"]);
    const first = of("read gc_index");
    reset();
    expect((await backend.listByOwner("olga", T0 + 2 * MINUTE)).map((r) => r.id)).toEqual(["live"]);
    expect(of("read gc_index")).toBeLessThan(first / 4);
    expect(of("read gc")).toBe(1);
  });

  it("destroyByOwner empties the owner's log, but for the session it keeps", async () => {
    const { bank, backend } = await countingBank();
    for (let i = 0; i < 5; i++) await backend.upsert(write(`s-${i}`, T0 + HOUR, T0, "pia"));
    expect(await backend.destroyByOwner("pia", { except: "s-2", tombstone: { now: T0, until: T0 + HOUR } })).toBe(4);
    const chunks = (await scanAll(bank, "gc_index")).filter((v) => String((v as { k?: string }).k).startsWith("o:"));
    expect(chunks).toEqual([
      { k: "o:3:pia#6", ids: ["s-2"] },
      { k: "o:3:pia#f", f: 6 },
    ]);
    expect((await backend.listByOwner("pia", T0)).map((r) => r.id)).toEqual(["s-2"]);
  });
});
