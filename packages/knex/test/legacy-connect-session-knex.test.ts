import { join } from "node:path";
import { backendConformance, storeConformance, write } from "@sessionkit/conformance";
import { createStore, type SessionkitStore } from "@sessionkit/core";
import { ConnectSessionKnexStore } from "connect-session-knex";
import type { Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { knexAdapter } from "../src/index.js";
import { dropTables, mysqlGate, mysqlKnex, pgGate, pgKnex, sqliteKnex, tempDir } from "./support/databases.js";
import { call, HOUR } from "./support/legacy.js";
import { switchRoundTrip } from "./support/switch-app.js";

/** express-session's session type, as connect-session-knex declares it. */
type SessionData = Parameters<ConnectSessionKnexStore["set"]>[1];
const pgSkip = await pgGate();
const mysqlSkip = await mysqlGate();
const tmp = tempDir("legacy-csk");
afterAll(() => tmp.remove());

function session(user: string, expiresAt: number): SessionData {
  return {
    cookie: {
      originalMaxAge: HOUR,
      maxAge: expiresAt - Date.now(),
      expires: new Date(expiresAt),
      httpOnly: true,
      path: "/",
    },
    user,
    cart: ["naïve café", "日本語", "🍪"],
  } as unknown as SessionData;
}
/** What a session looks like after a JSON round trip (dates become strings). */
const asStored = (s: SessionData) => JSON.parse(JSON.stringify(s));
/** connect-session-knex's own cleanup (what its interval runs). */
const theirCleanup = (store: ConnectSessionKnexStore) =>
  (store as unknown as { dbCleanup(): Promise<void> }).dbCleanup();

/**
 * One table shared both ways: sessions written by connect-session-knex 5 read by sessionkit and
 * the other way round, then the app itself switching stores over HTTP. `tolerance`: MySQL's
 * DATETIME keeps whole seconds.
 */
function sharedTable(label: string, skip: string | false, makeKnex: () => Knex, tableName: string, tolerance: number) {
  describe.skipIf(skip)(`connect-session-knex 5 table on ${label}`, () => {
    let knex: Knex;
    let theirs: ConnectSessionKnexStore;
    let ours: SessionkitStore;
    let backend: ReturnType<typeof knexAdapter>;

    beforeAll(async () => {
      knex = makeKnex();
      await dropTables(knex, tableName);
      // Their store creates the table, in its own layout.
      theirs = new ConnectSessionKnexStore({ knex, tableName, cleanupInterval: 0 });
      await theirs.ready;
      backend = knexAdapter(knex, { tableName, legacy: "connect-session-knex" });
      ours = createStore(backend, { gcInterval: 0 });
    });
    afterAll(async () => {
      await ours?.close();
      await dropTables(knex, tableName);
      await knex?.destroy();
    });

    it("sessionkit reads what connect-session-knex wrote, expiry included", async () => {
      await ours.clear();
      const expiresAt = Date.now() + HOUR;
      const written = session("alice", expiresAt);
      await call<void>((cb) => theirs.set("from-theirs", written, cb));
      expect(await ours.get("from-theirs")).toEqual(asStored(written));
      const record = await backend.get("from-theirs", Date.now());
      expect(Math.abs((record?.expiresAt ?? 0) - expiresAt)).toBeLessThanOrEqual(tolerance + 50);
      expect(await ours.length()).toBe(1);
      expect(await ours.ids()).toEqual(["from-theirs"]);
    });

    it("connect-session-knex reads what sessionkit wrote, and sees touches and destroys", async () => {
      const written = session("bob", Date.now() + HOUR);
      await ours.set("from-ours", written);
      expect(await call((cb) => theirs.get("from-ours", cb))).toEqual(asStored(written));
      const now = Date.now();
      // Shortened into the past by a touch: connect-session-knex must see it as gone.
      await backend.touch({ id: "from-ours", expiresAt: now - 5000, now, owner: null });
      expect(await call((cb) => theirs.get("from-ours", cb))).toBeNull();
      // A touch arriving after it expired never brings it back...
      await backend.touch({ id: "from-ours", expiresAt: now + HOUR, now, owner: null });
      expect(await call((cb) => theirs.get("from-ours", cb))).toBeNull();
      // ...while one made when it was still live lengthens it, and connect-session-knex sees that too.
      await backend.touch({ id: "from-ours", expiresAt: now + HOUR, now: now - 7000, owner: null });
      expect(await call((cb) => theirs.get("from-ours", cb))).toEqual(asStored(written));
      await ours.destroy("from-ours");
      expect(await call((cb) => theirs.get("from-ours", cb))).toBeNull();
    });

    it("sessionkit overwrites a session connect-session-knex wrote, in place", async () => {
      await call<void>((cb) => theirs.set("shared", session("carol", Date.now() + HOUR), cb));
      const updated = { ...session("carol", Date.now() + 2 * HOUR), views: 2 } as SessionData;
      await ours.set("shared", updated);
      expect(await call((cb) => theirs.get("shared", cb))).toEqual(asStored(updated));
    });

    it("each store's cleanup deletes only expired sessions, whichever store wrote them", async () => {
      await ours.clear();
      const now = Date.now();
      await ours.set("kept-by-us", session("dan", now + HOUR));
      await call<void>((cb) => theirs.set("kept-by-them", session("eve", now + HOUR), cb));
      await backend.upsert(write("stale", now - 10_000, { now: now - HOUR }));
      await theirCleanup(theirs);
      expect((await ours.ids()).sort()).toEqual(["kept-by-them", "kept-by-us"]);
      expect(await backend.get("stale", now)).toBeNull();
      await backend.upsert(write("stale", now - 10_000, { now: now - HOUR }));
      expect(await ours.prune()).toBe(1);
      expect((await ours.ids()).sort()).toEqual(["kept-by-them", "kept-by-us"]);
      expect(await call((cb) => theirs.get("kept-by-them", cb))).not.toBeNull();
    });

    it("touch and GC judge a stored expiry to the millisecond", async () => {
      await ours.clear();
      // A whole second, stored exactly in every layout (MySQL's DATETIME included).
      const expiresAt = Math.ceil(Date.now() / 1000) * 1000 + HOUR;
      await backend.upsert(write("edge", expiresAt));
      await backend.touch({ id: "edge", expiresAt: expiresAt + HOUR, now: expiresAt - 1, owner: null });
      expect(await backend.get("edge", 0)).toMatchObject({ expiresAt: expiresAt + HOUR });
      await backend.touch({ id: "edge", expiresAt: expiresAt + 3 * HOUR, now: expiresAt + HOUR, owner: null });
      expect(await backend.get("edge", 0)).toMatchObject({ expiresAt: expiresAt + HOUR });
      expect(await backend.count(expiresAt + HOUR - 1)).toBe(1);
      expect(await backend.deleteExpired(expiresAt + HOUR - 1, 10)).toBe(0);
      expect(await backend.count(expiresAt + HOUR)).toBe(0);
      expect(await backend.deleteExpired(expiresAt + HOUR, 10)).toBe(1);
    });

    it("refuses destroyByOwner and owner listings: the table has no owner column", async () => {
      await expect(ours.destroyByOwner("alice")).rejects.toMatchObject({ code: "ERR_SESSION_UNSUPPORTED" });
      await expect(backend.listByOwner("alice", Date.now())).rejects.toMatchObject({ code: "ERR_SESSION_UNSUPPORTED" });
    });

    switchRoundTrip(
      "express app",
      async () => {
        await ours.clear();
        return {
          theirs,
          ours,
          backend,
          expiryOf: async (id) => (await backend.get(id, 0))?.expiresAt,
        };
      },
      tolerance,
    );
  });
}

sharedTable("PostgreSQL", pgSkip, pgKnex, "csk_pg_shared", 0);
sharedTable("MariaDB (mysql2)", mysqlSkip, mysqlKnex, "csk_my_shared", 1000);
sharedTable("SQLite", false, () => sqliteKnex(join(tmp.dir, "shared.db")), "csk_shared", 0);

// The whole backend contract on a connect-session-knex table whose timestamps keep milliseconds
// (MySQL's DATETIME keeps whole seconds, so it is covered by the tests above instead).
const pgForSuite = pgKnex();
const sqliteForSuite = sqliteKnex(join(tmp.dir, "suite.db"));
afterAll(async () => {
  await dropTables(pgForSuite, "csk_pg_suite", "csk_pg_store");
  await pgForSuite.destroy();
  await sqliteForSuite.destroy();
});
backendConformance(
  "connect-session-knex layout, PostgreSQL",
  () => knexAdapter(pgForSuite, { tableName: "csk_pg_suite", legacy: "connect-session-knex" }),
  { skip: pgSkip, owners: false, tombstones: false },
);
backendConformance(
  "connect-session-knex layout, SQLite",
  () => knexAdapter(sqliteForSuite, { tableName: "csk_suite", legacy: "connect-session-knex" }),
  { owners: false, tombstones: false },
);
storeConformance(
  "connect-session-knex layout, PostgreSQL",
  () => knexAdapter(pgForSuite, { tableName: "csk_pg_store", legacy: "connect-session-knex" }),
  { skip: pgSkip, owners: false, tombstones: false },
);
