import { join } from "node:path";
import { backendConformance, record } from "@sessionkit/conformance";
import { createStore } from "@sessionkit/core";
import { ConnectSessionKnexStore } from "connect-session-knex";

import type { Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { knexAdapter } from "../src/index.js";
import { dropTables, mysqlGate, mysqlKnex, pgGate, pgKnex, sqliteKnex, tempDir } from "./helpers/databases.js";

const HOUR = 3_600_000;
/** express-session's session type, as connect-session-knex declares it. */
type SessionData = Parameters<ConnectSessionKnexStore["set"]>[1];
const pgSkip = await pgGate();
const mysqlSkip = await mysqlGate();
const tmp = tempDir("legacy");
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

const call = <T>(fn: (cb: (err: unknown, value?: T) => void) => void) =>
  new Promise<T | undefined>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));

/**
 * The switch in both directions on one table: sessions written by connect-session-knex 5 read
 * by sessionkit, and sessions written by sessionkit read by connect-session-knex.
 * `expiryTolerance`: MySQL's DATETIME keeps whole seconds.
 */
function legacyRoundTrip(
  label: string,
  skip: string | false,
  makeKnex: () => Knex,
  tableName: string,
  expiryTolerance: number,
) {
  describe.skipIf(skip)(`connect-session-knex 5 table on ${label}`, () => {
    let knex: Knex;
    let theirs: ConnectSessionKnexStore;
    let ours: ReturnType<typeof createStore>;
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
      const expiresAt = Date.now() + HOUR;
      const written = session("alice", expiresAt);
      await call<void>((cb) => theirs.set("from-theirs", written, cb));
      expect(await ours.get("from-theirs")).toEqual(asStored(written));
      const record = await backend.get("from-theirs");
      expect(Math.abs((record?.expiresAt ?? 0) - expiresAt)).toBeLessThanOrEqual(expiryTolerance + 50);
      expect(await ours.length()).toBe(1);
      expect(await ours.ids()).toEqual(["from-theirs"]);
    });

    it("connect-session-knex reads what sessionkit wrote, and sees touches and destroys", async () => {
      const written = session("bob", Date.now() + HOUR);
      await ours.set("from-ours", written);
      expect(await call((cb) => theirs.get("from-ours", cb))).toEqual(asStored(written));

      // Shortened into the past by a touch: connect-session-knex must see it as gone.
      const shortened = Date.now() - 5000;
      await backend.touch("from-ours", shortened, Date.now());
      expect(await call((cb) => theirs.get("from-ours", cb))).toBeNull();
      // A touch arriving after it expired never brings it back...
      await backend.touch("from-ours", Date.now() + HOUR, Date.now());
      expect(await call((cb) => theirs.get("from-ours", cb))).toBeNull();
      // ...while one made when it was still live lengthens it, and connect-session-knex sees that too.
      await backend.touch("from-ours", Date.now() + HOUR, shortened - 2000);
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

    it("expired legacy sessions are missing for sessionkit, and its prune removes only them", async () => {
      await ours.clear();
      await call<void>((cb) => theirs.set("stale", session("dave", Date.now() - 10_000), cb));
      // connect-session-knex computes expiry from cookie.maxAge: force one into the past directly.
      await backend.touch("stale", Date.now() - 10_000, Date.now() - HOUR);
      await call<void>((cb) => theirs.set("fresh", session("erin", Date.now() + HOUR), cb));
      expect(await ours.get("stale")).toBeNull();
      expect(await ours.length()).toBe(1);
      expect(await ours.prune()).toBe(1);
      expect(await call((cb) => theirs.get("fresh", cb))).not.toBeNull();
      expect(await backend.get("stale")).toBeNull();
    });

    it("touch renews a session up to its stored expiry and never after, to the millisecond", async () => {
      // A whole second, stored exactly in every layout (MySQL's DATETIME included).
      const expiresAt = Math.ceil(Date.now() / 1000) * 1000 + HOUR;
      await backend.upsert(record("edge", expiresAt));
      await backend.touch("edge", expiresAt + HOUR, expiresAt - 1);
      expect(await backend.get("edge")).toMatchObject({ expiresAt: expiresAt + HOUR });
      await backend.touch("edge", expiresAt + 3 * HOUR, expiresAt + HOUR);
      await backend.touch("edge", expiresAt + 3 * HOUR, expiresAt + HOUR + 500);
      expect(await backend.get("edge")).toMatchObject({ expiresAt: expiresAt + HOUR });
    });

    it("a session is live, counted and kept by GC until its stored expiry, to the millisecond", async () => {
      await ours.clear();
      // A whole second, stored exactly in every layout (MySQL's DATETIME included).
      const expiresAt = Math.ceil(Date.now() / 1000) * 1000 + HOUR;
      await backend.upsert(record("last-second", expiresAt));
      const justBefore = expiresAt - 1;
      expect(await backend.count(justBefore)).toBe(1);
      const listed: string[] = [];
      for await (const r of backend.stream(justBefore)) listed.push(r.id);
      expect(listed).toEqual(["last-second"]);
      expect(await backend.deleteExpired(justBefore, 10)).toBe(0);
      expect(await backend.count(expiresAt)).toBe(0);
      expect(await backend.deleteExpired(expiresAt, 10)).toBe(1);
    });

    it("refuses destroyByOwner: the table has no owner column", async () => {
      await expect(ours.destroyByOwner("alice")).rejects.toMatchObject({ code: "ERR_SESSION_UNSUPPORTED" });
    });
  });
}

legacyRoundTrip("PostgreSQL", pgSkip, pgKnex, "legacy_pg_roundtrip", 0);
legacyRoundTrip("MariaDB (mysql2)", mysqlSkip, mysqlKnex, "legacy_my_roundtrip", 1000);
legacyRoundTrip("SQLite", false, () => sqliteKnex(join(tmp.dir, "roundtrip.db")), "legacy_roundtrip", 0);

// The whole backend contract on a legacy table where the timestamp keeps milliseconds.
// (MySQL's DATETIME keeps whole seconds, so its legacy expiries round up to the second.)
const pgKnexForSuite = pgKnex();
const sqliteForSuite = sqliteKnex(join(tmp.dir, "suite.db"));
afterAll(async () => {
  await dropTables(pgKnexForSuite, "legacy_pg_suite");
  await pgKnexForSuite.destroy();
  await sqliteForSuite.destroy();
});
backendConformance(
  "knex legacy connect-session-knex layout, PostgreSQL",
  () => knexAdapter(pgKnexForSuite, { tableName: "legacy_pg_suite", legacy: "connect-session-knex" }),
  { skip: pgSkip, owners: false },
);
backendConformance(
  "knex legacy connect-session-knex layout, SQLite",
  () => knexAdapter(sqliteForSuite, { tableName: "legacy_suite", legacy: "connect-session-knex" }),
  { owners: false },
);
