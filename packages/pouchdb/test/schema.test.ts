import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStore, ErrorCodes } from "@sessionkit/core";
import { pouchdbAdapter } from "@sessionkit/pouchdb";
import { describe, expect, it } from "vitest";
import { designViews, readSession, tombstoneEnd } from "../src/schema.js";
import { leveldbDatabase, PouchDB, pouchdbCoreDatabase } from "./support/pouch.js";

const TTL = 86_400_000;
const T = Date.UTC(2030, 0, 1);
const cookie = (expires: unknown) => ({ originalMaxAge: 1000, expires, path: "/" });

/** Documents of every kind the views and the reader must classify alike. */
const corpus: Record<string, unknown>[] = [
  { _id: "ours", type: "sessionkit-session", payload: "{}", expiresAt: T, owner: "ann", createdAt: 1, lastActiveAt: 2 },
  { _id: "ours-no-owner", type: "sessionkit-session", payload: "{}", expiresAt: T, owner: null },
  { _id: "ours-bad-payload", type: "sessionkit-session", payload: 5, expiresAt: T, owner: "ann" },
  { _id: "ours-bad-expiry", type: "sessionkit-session", payload: "{}", expiresAt: "soon", owner: "ann" },
  { _id: "ours-owner-number", type: "sessionkit-session", payload: "{}", expiresAt: T, owner: 7 },
  { _id: "tombstone", type: "sessionkit-tombstone", expiresAt: T, createdAt: 1 },
  { _id: "tombstone-bad", type: "sessionkit-tombstone", expiresAt: null },
  { _id: "old-cookie", $ts: T - 5, $dirty: false, cookie: cookie(new Date(T + 7).toISOString()), user: "u" },
  { _id: "old-number-cookie", $ts: T - 5, $dirty: true, cookie: cookie(T + 9) },
  { _id: "old-browser-session", $ts: T - 5, $dirty: false, cookie: cookie(null) },
  { _id: "old-bad-date", $ts: T - 5, $dirty: false, cookie: cookie("not a date") },
  {
    _id: "legacy-layout-ours-last",
    $ts: T - 1,
    $dirty: false,
    cookie: cookie(new Date(T + 100).toISOString()),
    $sessionkit: { expiresAt: T + 50, owner: "bob", createdAt: T - 9, lastActiveAt: T - 1 },
  },
  {
    _id: "legacy-layout-old-store-last-cookie-later",
    $ts: T,
    $dirty: false,
    cookie: cookie(new Date(T + 100).toISOString()),
    $sessionkit: { expiresAt: T + 50, owner: "bob", createdAt: T - 9, lastActiveAt: T - 1 },
  },
  {
    _id: "legacy-layout-old-store-last-ours-later",
    $ts: T,
    $dirty: false,
    cookie: cookie(new Date(T + 10).toISOString()),
    $sessionkit: { expiresAt: T + 50, owner: "bob", createdAt: T - 9, lastActiveAt: T - 1 },
  },
  { _id: "legacy-layout-bad-meta", $ts: T, $dirty: false, cookie: cookie(null), $sessionkit: "x" },
  { _id: "foreign", theme: "dark" },
  { _id: "foreign-ts", $ts: 5 },
  { _id: "foreign-cookie", cookie: cookie(null) },
  { _id: "foreign-array-cookie", $ts: 5, $dirty: false, cookie: [1] },
  { _id: "foreign-type", type: "order", cookie: cookie(null) },
];

/** Runs a view's map source over a document, as CouchDB would, and returns what it emits. */
function emitted(source: string, doc: Record<string, unknown>): Array<[unknown, unknown]> {
  const out: Array<[unknown, unknown]> = [];
  const map = new Function("emit", `return (${source});`)((key: unknown, value: unknown) => out.push([key, value]));
  map({ ...doc, _rev: "1-x" });
  return out;
}

describe("the design document's views", () => {
  const views = designViews(TTL);

  it.each(corpus.map((doc) => [doc._id, doc] as const))("classify %s as the reader does", (id, doc) => {
    const session = readSession(id as string, doc, TTL);
    const expires = emitted(views.expires?.map as string, doc);
    const owners = emitted(views.owners?.map as string, doc);
    if (session === null && tombstoneEnd(doc) === Number.NEGATIVE_INFINITY) {
      expect(expires).toEqual([]); // another application's document: invisible
    } else if (session === null) {
      expect(expires).toEqual([[[1, tombstoneEnd(doc)], "1-x"]]);
    } else {
      expect(expires).toEqual([[[0, session === "damaged" ? 0 : session.expiresAt], "1-x"]]);
    }
    const owner = typeof session === "object" && session !== null ? session.owner : null;
    expect(owners).toEqual(owner === null ? [] : [[owner, "1-x"]]);
  });

  it("give the later expiry when session-pouchdb-store rewrote a session after us, and forget its owner", () => {
    const read = (id: string) => readSession(id, corpus.find((doc) => doc._id === id) ?? {}, TTL);
    expect(read("legacy-layout-ours-last")).toMatchObject({ expiresAt: T + 50, owner: "bob", createdAt: T - 9 });
    expect(read("legacy-layout-old-store-last-cookie-later")).toMatchObject({ expiresAt: T + 100, owner: null });
    expect(read("legacy-layout-old-store-last-ours-later")).toMatchObject({ expiresAt: T + 50, owner: null });
    expect(read("old-browser-session")).toMatchObject({ expiresAt: T - 5 + TTL, lastActiveAt: T - 5 });
  });
});

describe("targets", () => {
  it("a pouchdb-core database with map/reduce works; one without is refused", async () => {
    const db = pouchdbCoreDatabase();
    const store = createStore(pouchdbAdapter(db), { gcInterval: 0 });
    await store.set("s", { cookie: { expires: null }, n: 1 } as never);
    expect(await store.length()).toBe(1);
    await store.close();
    const { query: _query, ...withoutQuery } = Object.fromEntries(
      ["get", "put", "bulkDocs", "allDocs", "info", "query"].map((m) => [m, () => Promise.resolve()]),
    );
    expect(() => pouchdbAdapter(withoutQuery as never)).toThrow(/option "target" of pouchdbAdapter must be a PouchDB/);
    await db.destroy();
  });

  it("a LevelDB path whose directory is missing fails init() saying so, not at the first request", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sessionkit-pouchdb-missing-"));
    const db = leveldbDatabase(join(dir, "no-such-dir", "sessions"));
    const backend = pouchdbAdapter(db);
    await expect(backend.init()).rejects.toThrow(
      /database .*no-such-dir\/sessions could not be opened \(a LevelDB database's directory must exist/,
    );
    const store = createStore(backend, { gcInterval: 0 });
    await expect(store.get("s")).rejects.toMatchObject({
      code: ErrorCodes.BACKEND,
      message: expect.stringContaining("directory must exist"),
    });
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("register nothing on the pouchdb constructor a user shares (in memory and by URL)", async () => {
    const snapshot = () => ({
      adapters: Object.keys(PouchDB.adapters),
      preferred: [...PouchDB.preferredAdapters],
      prototype: Object.keys(PouchDB.prototype),
    });
    const before = snapshot();
    const memory = pouchdbAdapter();
    await memory.init();
    await memory.upsert({ id: "s", payload: "{}", expiresAt: T, owner: null, now: T - 1 });
    await memory.close();
    const remote = pouchdbAdapter("http://127.0.0.1:1/nothing-listens", { createDatabase: false, requestTimeout: 500 });
    await expect(remote.init()).rejects.toThrow();
    await remote.close();
    expect(snapshot()).toEqual(before);
    expect(before.adapters).not.toContain("memory");
  });
});
