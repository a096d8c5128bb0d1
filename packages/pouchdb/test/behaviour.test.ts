import { record } from "@sessionkit/conformance";
import { type PouchDatabase, type PouchdbBackend, pouchdbAdapter } from "@sessionkit/pouchdb";
import { afterEach, describe, expect, it } from "vitest";
import { countingPouch, memoryPouch } from "./support/memory-pouch.js";

const live = Date.now() + 3_600_000;
const databases: Array<{ destroy(): Promise<unknown> }> = [];

function sharedDb() {
  const db = memoryPouch();
  databases.push(db);
  return db;
}

afterEach(async () => {
  await Promise.all(databases.splice(0).map((db) => db.destroy()));
});

async function ready(db: PouchDatabase, options = {}) {
  const backend = pouchdbAdapter(db, options);
  await backend.init();
  return backend;
}

async function collect(iterable: AsyncIterable<{ id: string }>) {
  const ids: string[] = [];
  for await (const r of iterable) ids.push(r.id);
  return ids;
}

describe("stored documents", () => {
  it("are plain JSON with a type marker, readable in Fauxton", async () => {
    const db = sharedDb();
    const backend = await ready(db);
    await backend.upsert(record("abc", Date.UTC(2030, 0, 1), '{"user":"ann"}', "ann"));
    const { _rev, ...doc } = await db.get("abc");
    expect(doc).toEqual({
      _id: "abc",
      type: "sessionkit-session",
      payload: '{"user":"ann"}',
      expiresAt: Date.UTC(2030, 0, 1),
      expires: "2030-01-01T00:00:00.000Z",
      owner: "ann",
    });
  });

  it("escape ids CouchDB reserves (leading _) and the escape itself, and stream them back unescaped", async () => {
    const db = sharedDb();
    const backend = await ready(db);
    for (const id of ["_abc", "~abc", "~~x", "plain"]) await backend.upsert(record(id, live, JSON.stringify(id)));
    expect((await db.get("~_abc")).payload).toBe('"_abc"');
    expect((await db.get("~~abc")).payload).toBe('"~abc"');
    expect((await collect(backend.stream(0))).sort()).toEqual(["_abc", "plain", "~abc", "~~x"].sort());
    for (const id of ["_abc", "~abc", "~~x", "plain"])
      expect((await backend.get(id))?.payload).toBe(JSON.stringify(id));
  });

  it("ignore foreign documents: not read, counted, streamed or cleared", async () => {
    const db = sharedDb();
    const backend = await ready(db);
    await db.put({ _id: "config", theme: "dark" });
    await backend.upsert(record("s1", live));
    expect(await backend.get("config")).toBeNull();
    await backend.touch("config", live, Date.now());
    expect(await db.get("config")).toEqual({ _id: "config", _rev: expect.stringMatching(/^1-/), theme: "dark" });
    expect(await backend.count(0)).toBe(1);
    expect(await collect(backend.stream(0))).toEqual(["s1"]);
    await backend.clear();
    expect((await db.get("config")).theme).toBe("dark");
    expect(await backend.count(0)).toBe(0);
  });

  it("read a damaged session of ours as expired, and collect it", async () => {
    const db = sharedDb();
    const backend = await ready(db);
    await db.put({ _id: "bad", type: "sessionkit-session", payload: 12, expiresAt: "soon", owner: 7 });
    expect(await backend.get("bad")).toEqual({ id: "bad", payload: "", expiresAt: 0, owner: null });
    expect(await backend.count(0)).toBe(0);
    expect(await backend.deleteExpired(Date.now(), 10)).toBe(1);
    expect(await backend.get("bad")).toBeNull();
  });
});

describe("init()", () => {
  it("writes the design document once, and rewrites it when legacyTtl changes", async () => {
    const db = sharedDb();
    await ready(db);
    const first = await db.get("_design/sessionkit");
    await ready(db);
    expect((await db.get("_design/sessionkit"))._rev).toBe(first._rev);
    await ready(db, { legacyTtl: 60 });
    const changed = await db.get("_design/sessionkit");
    expect(changed._rev).not.toBe(first._rev);
    expect(JSON.stringify(changed.views)).toContain("60000");
  });

  it("is safe when several adapters start at once", async () => {
    const db = sharedDb();
    await Promise.all(Array.from({ length: 5 }, () => ready(db)));
    expect((await db.get("_design/sessionkit"))._rev).toMatch(/^1-/);
  });
});

describe("revisions", () => {
  it("a stale cached revision costs a retry, never a failed write", async () => {
    const db = sharedDb();
    const [a, b] = [await ready(db), await ready(db)];
    await a.upsert(record("s", live, '{"v":"a1"}'));
    await b.upsert(record("s", live, '{"v":"b"}')); // a's cached revision is now stale
    await a.upsert(record("s", live, '{"v":"a2"}'));
    expect((await b.get("s"))?.payload).toBe('{"v":"a2"}');
  });

  it("without retries the same stale write surfaces the conflict (the retry is what saves it)", async () => {
    const db = sharedDb();
    const [a, b] = [await ready(db, { maxConflictRetries: 0 }), await ready(db)];
    await a.upsert(record("s", live, '{"v":"a1"}'));
    await b.upsert(record("s", live, '{"v":"b"}'));
    await expect(a.upsert(record("s", live, '{"v":"a2"}'))).rejects.toMatchObject({ status: 409 });
  });

  it("a rival rewriting the session before each write for a while delays the write, never fails it", async () => {
    const db = sharedDb();
    const rivalUntil = Date.now() + 150;
    // Each of a's writes finds that the rival got there first, until the rival's burst ends.
    const contended = new Proxy(db, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== "put") return typeof value === "function" ? value.bind(target) : value;
        return async (doc: { _id: string }) => {
          if (doc._id === "s" && Date.now() < rivalUntil) {
            const current = await target.get(doc._id).catch(() => undefined);
            await target.put({ ...current, _id: doc._id, payload: "rival" });
          }
          return target.put(doc);
        };
      },
    });
    const a = await ready(contended);
    await a.upsert(record("s", live, '{"v":"a"}'));
    expect((await a.get("s"))?.payload).toBe('{"v":"a"}');
  });

  it("a touch with a stale cache keeps the other writer's payload", async () => {
    const db = sharedDb();
    const [a, b] = [await ready(db), await ready(db)];
    await a.upsert(record("s", live, '{"v":"old"}'));
    await b.upsert(record("s", live, '{"v":"new"}', "owner-b"));
    await a.touch("s", live + 1000, Date.now());
    expect(await b.get("s")).toEqual(record("s", live + 1000, '{"v":"new"}', "owner-b"));
  });

  it("a touch or destroy with a stale cache never resurrects a session another process destroyed", async () => {
    const db = sharedDb();
    const [a, b] = [await ready(db), await ready(db)];
    await a.upsert(record("s", live));
    await b.destroy("s");
    await a.touch("s", live + 1000, Date.now());
    await a.destroy("s");
    expect(await b.get("s")).toBeNull();
  });

  it("a touch never revives an expired session, whether the cache or the database says so", async () => {
    const db = sharedDb();
    const [a, b] = [await ready(db), await ready(db)];
    const now = Date.now();
    await a.upsert(record("cached-expired", now - 1));
    await a.upsert(record("at-now", now));
    await a.touch("cached-expired", live, now);
    await a.touch("at-now", live, now);
    expect((await b.get("cached-expired"))?.expiresAt).toBe(now - 1);
    expect((await b.get("at-now"))?.expiresAt).toBe(now);
    // a's cache says live, but b expired it meanwhile: the write conflicts, the re-read says expired.
    await a.upsert(record("stale-live", live));
    await b.touch("stale-live", now - 1, now - 2);
    await a.touch("stale-live", live + 1000, now);
    expect((await b.get("stale-live"))?.expiresAt).toBe(now - 1);
    expect(await b.count(now)).toBe(0);
  });

  it("a touch whose cache looks expired reads again, and moves a session another process renewed", async () => {
    const db = sharedDb();
    const [a, b] = [await ready(db), await ready(db)];
    const now = Date.now();
    await a.upsert(record("s", now - 1, '{"v":"old"}'));
    await b.upsert(record("s", live, '{"v":"renewed"}'));
    await a.touch("s", live + 1000, now);
    expect(await b.get("s")).toEqual(record("s", live + 1000, '{"v":"renewed"}'));
  });

  it("a read that finds a newer revision than the cached one replaces it: the next touch is one put", async () => {
    const shared = sharedDb();
    const { db, calls } = countingPouch(shared);
    const [a, b] = [await ready(db), await ready(shared)];
    await a.upsert(record("s", live, '{"v":"a"}'));
    await b.upsert(record("s", live, '{"v":"b"}')); // a's cached revision is now stale
    expect((await a.get("s"))?.payload).toBe('{"v":"b"}');
    const [gets, puts] = [calls.get ?? 0, calls.put ?? 0];
    await a.touch("s", live + 1, Date.now());
    expect([calls.get ?? 0, calls.put ?? 0]).toEqual([gets, puts + 1]);
    expect(await b.get("s")).toEqual(record("s", live + 1, '{"v":"b"}'));
    // Reading an unchanged revision again keeps serving the same session.
    expect(await a.get("s")).toEqual(record("s", live + 1, '{"v":"b"}'));
  });

  it("a write after a read needs no second read (one round trip), and so does a touch", async () => {
    const { db, calls } = countingPouch(sharedDb());
    const backend = await ready(db);
    await backend.upsert(record("s", live)); // a new session: one put, no read
    expect(calls.get ?? 0).toBe(1); // init() read the design document
    await backend.get("s");
    await backend.upsert(record("s", live, '{"v":2}'));
    await backend.touch("s", live + 1, Date.now());
    await backend.destroy("s");
    expect(calls.get).toBe(2);
    expect(calls.put).toBe(5); // design document, 3 writes, 1 delete
  });

  /** Touches each id in turn; answers how many reads that took (one per id the cache had lost). */
  async function readsToTouch(backend: PouchdbBackend, calls: Record<string, number>, ids: string[]) {
    const before = calls.get ?? 0;
    for (const id of ids) await backend.touch(id, live + 1, Date.now());
    return (calls.get ?? 0) - before;
  }

  it("a bounded cache keeps a session read since it was cached over one that was not", async () => {
    const { db, calls } = countingPouch(sharedDb());
    const backend = await ready(db, { revisionCacheSize: 2 });
    for (const id of ["a", "b"]) await backend.upsert(record(id, live));
    await backend.get("a"); // a is older than b but in use
    await backend.upsert(record("c", live)); // full: b goes, not a
    expect(await readsToTouch(backend, calls, ["a", "c"])).toBe(0);
    expect(await readsToTouch(backend, calls, ["b"])).toBe(1); // evicted: read first
  });

  it("a bounded cache forgets the oldest entry not used since, and size 0 turns it off", async () => {
    const { db, calls } = countingPouch(sharedDb());
    const backend = await ready(db, { revisionCacheSize: 2 });
    for (const id of ["a", "b", "c"]) await backend.upsert(record(id, live));
    expect(await readsToTouch(backend, calls, ["c", "b"])).toBe(0);
    expect(await readsToTouch(backend, calls, ["a"])).toBe(1); // evicted: read first

    const uncached = countingPouch(sharedDb());
    const off = await ready(uncached.db, { revisionCacheSize: 0 });
    await off.upsert(record("x", live));
    expect(await readsToTouch(off, uncached.calls, ["x"])).toBe(1);
    expect((await off.get("x"))?.expiresAt).toBe(live + 1);
  });

  it("concurrent writers on two adapters to one id all succeed; one whole write wins", async () => {
    const db = sharedDb();
    const [a, b] = [await ready(db), await ready(db)];
    const writes = Array.from({ length: 40 }, (_, i) =>
      (i % 2 ? a : b).upsert(record("hot", live + i, JSON.stringify({ i }))),
    );
    await Promise.all(writes);
    const got = await a.get("hot");
    expect(got?.expiresAt).toBe(live + JSON.parse(got?.payload ?? "{}").i);
  });
});

describe("a database method that throws instead of rejecting", () => {
  it("fails the operation with a rejection, and the next operation on that id still runs", async () => {
    const db = sharedDb();
    const backend = await ready(db);
    await backend.upsert(record("s", live));
    const broken = new Error("put threw");
    const realPut = db.put.bind(db);
    db.put = () => {
      throw broken;
    };
    for (const write of [
      () => backend.upsert(record("s", live, '{"v":2}')),
      () => backend.touch("s", live + 1, Date.now()),
      () => backend.destroy("s"),
    ]) {
      let result: Promise<void> | undefined;
      expect(() => {
        result = write();
      }).not.toThrow();
      await expect(result).rejects.toBe(broken);
    }
    db.put = realPut;
    await backend.upsert(record("s", live, '{"v":3}'));
    expect((await backend.get("s"))?.payload).toBe('{"v":3}');
  });

  it("a get whose database throws rejects instead of throwing", async () => {
    const db = sharedDb();
    const backend = await ready(db);
    const broken = new Error("get threw");
    const realGet = db.get.bind(db);
    db.get = () => {
      throw broken;
    };
    let result: Promise<unknown> | undefined;
    expect(() => {
      result = backend.get("s");
    }).not.toThrow();
    await expect(result).rejects.toBe(broken);
    db.get = realGet;
  });
});

describe("garbage collection races", () => {
  /** The database, running `between` after each view query returns and before the caller goes on. */
  function withHookAfterQuery(db: PouchDatabase, between: () => Promise<unknown>): PouchDatabase {
    return new Proxy(db, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== "query" || typeof value !== "function") return value;
        return async (...args: unknown[]) => {
          const result = await value.apply(target, args);
          await between();
          return result;
        };
      },
    });
  }

  it("keeps a session touched between the index read and the delete", async () => {
    const db = sharedDb();
    const other = await ready(db);
    const expiredAt = Date.now() - 1000;
    await other.upsert(record("revived", expiredAt));
    // The touch happens at a moment the session was still live; GC then reads the index later.
    const gc = await ready(withHookAfterQuery(db, () => other.touch("revived", live, expiredAt - 1)));
    expect(await gc.deleteExpired(Date.now(), 10)).toBe(0);
    expect((await other.get("revived"))?.expiresAt).toBe(live);
  });

  it("counts nothing, and fails nothing, for a session another process deleted meanwhile", async () => {
    const db = sharedDb();
    const other = await ready(db);
    await other.upsert(record("gone", Date.now() - 1000));
    await other.upsert(record("expired", Date.now() - 1000));
    const gc = await ready(withHookAfterQuery(db, () => other.destroy("gone")));
    expect(await gc.deleteExpired(Date.now(), 10)).toBe(1);
    expect(await other.get("expired")).toBeNull();
  });
});

describe("paging", () => {
  it("streams records that share one expiry across page boundaries without loss or repeats", async () => {
    const backend = await ready(sharedDb(), { pageSize: 3 });
    const ids = Array.from({ length: 10 }, (_, i) => `same-${i}`);
    for (const id of ids) await backend.upsert(record(id, live));
    await backend.upsert(record("later", live + 1));
    const streamed = await collect(backend.stream(0));
    expect(streamed.sort()).toEqual([...ids, "later"].sort());
  });

  it("destroyByOwner and clear go past one page", async () => {
    const backend = await ready(sharedDb(), { pageSize: 2 });
    for (let i = 0; i < 7; i++) await backend.upsert(record(`o-${i}`, live, "{}", "owner"));
    for (let i = 0; i < 3; i++) await backend.upsert(record(`x-${i}`, live));
    expect(await backend.destroyByOwner("owner")).toBe(7);
    expect(await backend.count(0)).toBe(3);
    await backend.clear();
    expect(await backend.count(0)).toBe(0);
  });
});

describe("compaction", () => {
  it("runs after a GC run that deleted something, only when asked", async () => {
    for (const compactAfterPrune of [true, false]) {
      const { db, calls } = countingPouch(sharedDb());
      const backend = await ready(db, { compactAfterPrune });
      for (let i = 0; i < 5; i++) await backend.upsert(record(`e-${i}`, 1000 + i));
      expect(await backend.deleteExpired(Date.now(), 3)).toBe(3);
      expect(calls.compact ?? 0).toBe(0); // a full batch: the run is not over
      expect(await backend.deleteExpired(Date.now(), 3)).toBe(2);
      expect(await backend.deleteExpired(Date.now(), 3)).toBe(0);
      expect(calls.compact ?? 0).toBe(compactAfterPrune ? 1 : 0);
    }
  });
});

describe("close()", () => {
  it("never closes a database the user passed in", async () => {
    const db = sharedDb();
    const backend = await ready(db);
    await backend.close();
    await backend.close();
    await db.put({ _id: "still-open" });
    expect((await db.get("still-open"))._id).toBe("still-open");
  });

  it("frees the in-memory database it created", async () => {
    const backend = pouchdbAdapter();
    await backend.init();
    await backend.upsert(record("s", live));
    await backend.close();
    await expect(backend.db.info()).rejects.toThrow();
  });
});
