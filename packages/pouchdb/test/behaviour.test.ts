import { payload, write } from "@sessionkit/conformance";
import { createStore, ErrorCodes } from "@sessionkit/core";
import { type PouchdbBackend, pouchdbAdapter } from "@sessionkit/pouchdb";
import { afterEach, describe, expect, it } from "vitest";
import { capturingLogger, session } from "./support/logger.js";
import { countingPouch, memoryDatabase, type TestDatabase, unknownIdMix } from "./support/pouch.js";

const T0 = Date.UTC(2030, 0, 1);
const HOUR = 3_600_000;
const live = T0 + HOUR;

const databases: TestDatabase[] = [];
const backends: PouchdbBackend[] = [];
afterEach(async () => {
  await Promise.all(backends.splice(0).map((backend) => backend.close()));
  await Promise.all(databases.splice(0).map((db) => db.destroy()));
});

function database() {
  const db = memoryDatabase();
  databases.push(db);
  return db;
}

async function ready(db: object, options = {}) {
  const backend = pouchdbAdapter(db as TestDatabase, options);
  backends.push(backend);
  await backend.init();
  return backend;
}

async function ids(backend: PouchdbBackend, now = T0) {
  const out: string[] = [];
  for await (const record of backend.stream(now)) out.push(record.id);
  return out.sort();
}

const without = ({ _rev, ...doc }: Record<string, unknown>) => doc;

describe("documents", () => {
  it("a session is plain JSON: the core's payload and our fields", async () => {
    const db = database();
    const backend = await ready(db);
    await backend.upsert(write("abc", live, { payload: payload({ user: "ann" }), owner: "ann", now: T0 }));
    expect(without(await db.get("abc"))).toEqual({
      _id: "abc",
      type: "sessionkit-session",
      payload: payload({ user: "ann" }),
      expiresAt: live,
      owner: "ann",
      createdAt: T0,
      lastActiveAt: T0,
    });
  });

  it("a destroyed session becomes a tombstone under its id, written over its revision, and GC collects it", async () => {
    const db = database();
    const backend = await ready(db);
    await backend.upsert(write("abc", live, { now: T0 }));
    const rev = (await db.get("abc"))._rev as string;
    await backend.destroy("abc", { now: T0 + 1, until: T0 + HOUR });
    const tombstone = await db.get("abc");
    expect(without(tombstone)).toEqual({
      _id: "abc",
      type: "sessionkit-tombstone",
      expiresAt: T0 + HOUR,
      createdAt: T0 + 1,
    });
    expect(Number.parseInt(tombstone._rev as string, 10)).toBe(Number.parseInt(rev, 10) + 1);
    expect(await backend.upsert(write("abc", live, { now: T0 + 2 }))).toBe(false);
    expect(await backend.deleteExpired(T0 + HOUR, 10)).toBe(1);
    await expect(db.get("abc")).rejects.toMatchObject({ status: 404 });
  });

  it("ids CouchDB can't take (a leading _, . and ..) and the escape itself get a ~ in front", async () => {
    const db = database();
    const backend = await ready(db);
    const awkward = ["_abc", "~abc", ".", "..", "~.", "plain.", "a.b"];
    for (const id of awkward) await backend.upsert(write(id, live, { payload: payload({ id }), now: T0 }));
    const stored = (
      await db.allDocs({ keys: ["~_abc", "~~abc", "~.", "~..", "~~.", "plain.", "a.b"], include_docs: true })
    ).rows;
    expect(stored.map((row) => JSON.parse(row.doc?.payload as string).id)).toEqual(awkward);
    expect(await ids(backend)).toEqual([...awkward].sort());
    for (const id of awkward) expect((await backend.get(id, T0))?.payload).toBe(payload({ id }));
  });
});

describe("turning legacy on", () => {
  it("a touch moves a session of our layout to session-pouchdb-store's; one not in plain JSON stays", async () => {
    const db = database();
    const before = await ready(db);
    await before.upsert(write("plain", live, { payload: payload({ user: "ann" }), owner: "ann", now: T0 }));
    await before.upsert(write("sealed", live, { payload: "v1.c2VhbGVk", now: T0 }));
    const after = await ready(db, { legacy: "session-pouchdb-store" });
    for (const id of ["plain", "sealed"]) {
      await after.touch({ id, expiresAt: live + 1, now: T0 + 1, owner: null });
    }
    expect(without(await db.get("plain"))).toEqual({
      ...JSON.parse(payload({ user: "ann" })),
      _id: "plain",
      $ts: T0 + 1,
      $dirty: false,
      $sessionkit: { expiresAt: live + 1, owner: "ann", createdAt: T0, lastActiveAt: T0 + 1 },
    });
    expect(await db.get("sealed")).toMatchObject({
      type: "sessionkit-session",
      payload: "v1.c2VhbGVk",
      expiresAt: live + 1,
    });
    expect(await after.get("plain", T0)).toMatchObject({
      payload: payload({ user: "ann" }),
      owner: "ann",
      expiresAt: live + 1,
    });
  });
});

describe("round trips (PouchDB calls)", () => {
  it("a new session is one put; get, update, touch and destroy after it are one call each", async () => {
    const { db, calls } = countingPouch(database());
    const backend = await ready(db);
    const counted = async (work: () => Promise<unknown>) => {
      for (const key of Object.keys(calls)) delete calls[key];
      await work();
      return { ...calls };
    };
    expect(await counted(() => backend.upsert(write("s", live, { now: T0 })))).toEqual({ put: 1 });
    expect(await counted(() => backend.get("s", T0))).toEqual({ get: 1 });
    expect(await counted(() => backend.upsert(write("s", live, { now: T0 + 1 })))).toEqual({ put: 1 });
    expect(await counted(() => backend.touch({ id: "s", expiresAt: live + 1, now: T0 + 2, owner: null }))).toEqual({
      put: 1,
    });
    expect(await counted(() => backend.destroy("s", { now: T0 + 3, until: T0 + HOUR }))).toEqual({ put: 1 });
    // A late write after the logout: the cached tombstone is read again before the refusal.
    expect(await counted(() => backend.upsert(write("s", live, { now: T0 + 4 })))).toEqual({ get: 1 });
  });

  it("the revision cache drops the least recently used session: a touch of one dropped reads first", async () => {
    const { db, calls } = countingPouch(database());
    const backend = await ready(db, { revisionCacheSize: 2 });
    for (const id of ["a", "b", "c"]) await backend.upsert(write(id, live, { now: T0 }));
    // Read a, b, a again, then c: b is the least recently used, and goes.
    for (const id of ["a", "b", "a", "c"]) await backend.get(id, T0);
    const touched = async (id: string) => {
      for (const key of Object.keys(calls)) delete calls[key];
      await backend.touch({ id, expiresAt: live + 1, now: T0 + 1, owner: null });
      return { ...calls };
    };
    expect(await touched("a")).toEqual({ put: 1 });
    expect(await touched("b")).toEqual({ get: 1, put: 1 });
  });

  it("sessions another process wrote are read first once enough recent unknown ids existed; new ones go back to one put", async () => {
    const shared = database();
    const other = await ready(shared);
    const { db, calls } = countingPouch(shared);
    const backend = await ready(db, { revisionCacheSize: 0 });
    for (let i = 0; i < 30; i++) await other.upsert(write(`existing-${i}`, live, { now: T0 }));
    const perWrite: number[] = [];
    const callsOf = async (id: string) => {
      const before = (calls.get ?? 0) + (calls.put ?? 0);
      await backend.upsert(write(id, live, { now: T0 + 1 }));
      return (calls.get ?? 0) + (calls.put ?? 0) - before;
    };
    for (let i = 0; i < 30; i++) perWrite.push(await callsOf(`existing-${i}`));
    // Blind puts that conflict (put, get, put) until the estimate turns, then a read and a put.
    expect(perWrite.slice(0, 3)).toEqual([3, 3, 3]);
    expect(perWrite.slice(-20)).toEqual(Array(20).fill(2));
    const fresh: number[] = [];
    for (let i = 0; i < 40; i++) fresh.push(await callsOf(`new-${i}`));
    expect(fresh.slice(0, 3)).toEqual([2, 2, 2]);
    expect(fresh.slice(-20)).toEqual(Array(20).fill(1));
    for (let i = 0; i < 30; i++) expect((await other.get(`existing-${i}`, T0))?.createdAt).toBe(T0);
  });

  it("in a local database unknown ids are read first when one in three exists (a put that conflicts costs about a put)", async () => {
    const shared = database();
    const other = await ready(shared);
    const { db, calls } = countingPouch(shared);
    const lines = await unknownIdMix(await ready(db, { revisionCacheSize: 0 }), other, calls);
    // A read and a put each, instead of a put for a new id and put, read, put for an existing one.
    expect(lines.slice(-15)).toEqual(Array(15).fill([2, 2, 2]));
  });

  it("in session-pouchdb-store's layout a write of an unknown id reads the session and its tombstone first", async () => {
    const { db, calls } = countingPouch(database());
    const backend = await ready(db, { legacy: "session-pouchdb-store" });
    for (const key of Object.keys(calls)) delete calls[key];
    await backend.upsert(write("s", live, { now: T0 }));
    expect(calls).toEqual({ allDocs: 1, put: 1 });
    await backend.upsert(write("s", live, { now: T0 + 1 }));
    expect(calls).toEqual({ allDocs: 1, put: 2 });
  });
});

describe("documents that are not ours", () => {
  const foreign = [
    { _id: "config", theme: "dark" },
    { _id: "stamped", $ts: 5, note: "has a $ts" },
    { _id: "cookie-jar", cookie: { expires: new Date(T0 - 1).toISOString() } },
    { _id: "almost-old-store", $ts: 5, $dirty: false, cookie: "not an object" },
  ];

  it("are never read, counted, listed, touched, overwritten or deleted", async () => {
    const db = database();
    const backend = await ready(db);
    const store = createStore(backend, { gcInterval: 0, now: () => T0 + 2 * HOUR, owner: () => "ann" });
    for (const doc of foreign) await db.put(doc);
    await backend.upsert(write("mine", live, { owner: "ann", now: T0 }));
    const stored = async () => (await db.allDocs({ keys: foreign.map((doc) => doc._id), include_docs: true })).rows;
    const before = await stored();
    for (const { _id } of foreign) {
      expect(await backend.get(_id, T0)).toBeNull();
      await backend.touch({ id: _id, expiresAt: live, now: T0, owner: null });
      await backend.destroy(_id, { now: T0, until: live });
      await backend.destroy(_id);
      await expect(backend.upsert(write(_id, live, { now: T0 }))).rejects.toThrow(
        "sessionkit/pouchdb: the document under this session's id is not a session",
      );
    }
    expect(await backend.count(0)).toBe(1);
    expect(await ids(backend, 0)).toEqual(["mine"]);
    expect((await backend.listByOwner("ann", T0)).map((r) => r.id)).toEqual(["mine"]);
    expect(await store.prune()).toBe(1); // "mine", expired by then
    await backend.clear();
    expect(await stored()).toEqual(before);
    await store.close();
  });
});

describe("a damaged document of ours", () => {
  it("reads as missing with one warning, is not counted, and GC collects it", async () => {
    const db = database();
    const { logger, lines } = capturingLogger();
    const store = createStore(await ready(db), { gcInterval: 0, logger, now: () => T0 });
    await db.put({ _id: "bad-payload", type: "sessionkit-session", payload: 12, expiresAt: live });
    await db.put({ _id: "bad-expiry", type: "sessionkit-session", payload: payload(), expiresAt: "soon" });
    for (const id of ["bad-payload", "bad-expiry"]) {
      const before = lines.length;
      expect(await store.get(id)).toBeNull();
      const warnings = lines.slice(before).filter((line) => JSON.parse(line).level === 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain("could not be read back");
      expect(warnings[0]).not.toContain(id);
    }
    expect(await store.length()).toBe(0);
    expect(await store.prune()).toBe(2);
    await store.close();
  });
});

describe("init()", () => {
  it("writes the design document once, and again when legacyTtl changes", async () => {
    const db = database();
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
    const db = database();
    await Promise.all(Array.from({ length: 5 }, () => ready(db)));
    expect((await db.get("_design/sessionkit"))._rev).toMatch(/^1-/);
  });
});

describe("size", () => {
  it("declares what fits a CouchDB document: a larger session is refused before any write", async () => {
    const { db, calls } = countingPouch(database());
    const backend = await ready(db);
    delete calls.put; // the design document
    expect(backend.capabilities.maxPayloadBytes).toBe(1_300_000);
    const store = createStore(backend, { gcInterval: 0 });
    await expect(store.set("big", session({ blob: "x".repeat(1_300_000) }) as never)).rejects.toMatchObject({
      code: ErrorCodes.TOO_LARGE,
    });
    expect(calls.put).toBeUndefined();
    await store.close();
  });
});

describe("close()", () => {
  it("never closes a database passed in", async () => {
    const db = database();
    const backend = await ready(db);
    await backend.close();
    await backend.close();
    expect(await db.info()).toMatchObject({ doc_count: 1 }); // the design document
  });
});
