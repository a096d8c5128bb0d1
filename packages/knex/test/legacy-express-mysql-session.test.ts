import { createRequire } from "node:module";
import { storeConformance, write } from "@sessionkit/conformance";
import { createStore, ErrorCodes } from "@sessionkit/core";
import session from "express-session";
import mysql from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { knexAdapter } from "../src/index.js";
import { MYSQL_URL, mysqlGate, mysqlPool } from "./support/databases.js";
import { call, expectSameLiveness, HOUR, sessionAt } from "./support/legacy.js";
import { switchRoundTrip } from "./support/switch-app.js";

const require = createRequire(import.meta.url);
type MySQLStore = session.Store & {
  clearExpiredSessions(): Promise<void>;
  close(): Promise<void>;
  onReady(): Promise<void>;
};
const MySQLStore = require("express-mysql-session")(session) as new (
  options: object,
  connection: unknown,
) => MySQLStore;

// A database of this file's own, so both stores can use their default table name, `sessions`.
const DATABASE = "sk_knex_ems";
const skip = await mysqlGate();
const url = new URL(MYSQL_URL);
url.pathname = `/${DATABASE}`;
let pool: mysql.Pool;
let promisePool: ReturnType<mysql.Pool["promise"]>;

describe.skipIf(skip)("express-mysql-session 3 table (its defaults: `sessions`, epoch seconds)", () => {
  let theirs: MySQLStore;
  let backend: ReturnType<typeof knexAdapter>;
  let ours: ReturnType<typeof createStore>;
  const indexes = async () =>
    (
      await promisePool.query(
        `select index_name as i from information_schema.statistics where table_schema = ? and table_name = 'sessions'`,
        [DATABASE],
      )
    )[0] as Array<{ i: string }>;

  beforeAll(async () => {
    const admin = mysql.createPool({ uri: MYSQL_URL }).promise();
    await admin.query(`drop database if exists ${DATABASE}`);
    await admin.query(`create database ${DATABASE}`);
    await admin.end();
    pool = mysql.createPool({ uri: url.toString(), connectionLimit: 4 });
    promisePool = pool.promise();
    // Their store creates its table from its schema.sql, on the promise pool it is given.
    theirs = new MySQLStore({ clearExpired: false }, promisePool);
    await theirs.onReady();
    backend = knexAdapter({ mysql2: promisePool }, { legacy: "express-mysql-session" });
    ours = createStore(backend, { gcInterval: 0 });
    await ours.clear();
  });
  afterAll(async () => {
    await ours?.close();
    await theirs?.close();
    await promisePool?.query(`drop database if exists ${DATABASE}`);
    await promisePool?.end();
  });

  it("init() recognises its table under sessionkit's default table name, and says which option opens it", async () => {
    const error = await knexAdapter({ mysql2: pool })
      .init()
      .catch((e) => e);
    expect(error).toMatchObject({ code: ErrorCodes.CONFIG });
    expect(error.message).toMatch(
      /table "sessions" has the columns session_id, expires, data, which is express-mysql-session's layout/,
    );
    expect(error.message).toContain('legacy: "express-mysql-session"');
  });

  it("an expiry either store writes is the same second for the other", async () => {
    const now = Date.now();
    await call((cb) => theirs.set("theirs", sessionAt(now + HOUR + 400), cb));
    expect((await backend.get("theirs", now))?.expiresAt).toBe(Math.round((now + HOUR + 400) / 1000) * 1000);
    await backend.upsert(write("ours", now + HOUR + 400, { now }));
    const [rows] = (await promisePool.query("select expires from sessions where session_id = 'ours'")) as [
      Array<{ expires: number }>,
      unknown,
    ];
    expect(rows[0]?.expires).toBe(Math.ceil((now + HOUR + 400) / 1000)); // rounded up: never shorter
  });

  it("a session live or expired for one store is so for the other, two minutes either side", () =>
    expectSameLiveness(backend, ours, theirs));

  it("each store's cleanup deletes only expired sessions, whichever store wrote them", async () => {
    await ours.clear();
    const now = Date.now();
    await ours.set("kept-by-us", sessionAt(now + HOUR, "us"));
    await call((cb) => theirs.set("kept-by-them", sessionAt(now + HOUR, "them"), cb));
    await backend.upsert(write("stale", now - 120_000, { now: now - HOUR }));
    await theirs.clearExpiredSessions();
    expect((await ours.ids()).sort()).toEqual(["kept-by-them", "kept-by-us"]);
    await call((cb) => theirs.set("stale", sessionAt(now - 120_000), cb));
    expect(await ours.prune()).toBe(1);
    expect((await ours.ids()).sort()).toEqual(["kept-by-them", "kept-by-us"]);
    expect(await call((cb) => theirs.get("kept-by-them", cb))).toMatchObject({ user: "them" });
  });

  it("refuses ids its column can't keep apart or hold, before any write", async () => {
    await expect(ours.set("trailing ", sessionAt(Date.now() + HOUR))).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ID,
    });
    await expect(ours.set("x".repeat(129), sessionAt(Date.now() + HOUR))).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ID,
    });
    await expect(ours.destroyByOwner("ann")).rejects.toMatchObject({ code: ErrorCodes.UNSUPPORTED });
  });

  it("adds an index on expires only when allowed (indexExpires), idempotently", async () => {
    await backend.init();
    expect((await indexes()).map((r) => r.i)).toEqual(["PRIMARY"]);
    const indexed = knexAdapter({ mysql2: pool }, { legacy: "express-mysql-session", indexExpires: true });
    await indexed.init();
    await indexed.init();
    expect((await indexes()).map((r) => r.i).sort()).toEqual(["PRIMARY", "sessions_expires_idx"]);
    await promisePool.query("alter table sessions drop index sessions_expires_idx");
  });

  switchRoundTrip(
    "express app",
    async () => {
      await ours.clear();
      return { theirs, ours, backend, expiryOf: async (id) => (await backend.get(id, 0))?.expiresAt };
    },
    1000,
  );
});

// The store over HTTP on this layout (whole seconds), in the shared test database.
const storePool = mysqlPool();
afterAll(async () => {
  await storePool.promise().query("drop table if exists ems_store");
  await storePool.promise().end();
});
storeConformance(
  "express-mysql-session layout",
  () => knexAdapter({ mysql2: storePool }, { tableName: "ems_store", legacy: "express-mysql-session" }),
  { skip, owners: false, tombstones: false },
);
