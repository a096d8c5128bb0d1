import { createRequire } from "node:module";
import { backendConformance, storeConformance, write } from "@sessionkit/conformance";
import { createStore } from "@sessionkit/core";
import session from "express-session";
import knexFactory from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { knexAdapter } from "../src/index.js";
import { PG_URL, pgGate, pgPool } from "./support/databases.js";
import { call, expectSameLiveness, HOUR, sessionAt } from "./support/legacy.js";
import { switchRoundTrip } from "./support/switch-app.js";

// connect-pg-simple writes and compares `expire` (timestamp without time zone) in the database
// session's TimeZone. This file runs with the database sessions in America/New_York and this
// Node process in Asia/Kolkata: a mapping that assumed UTC anywhere would shift every expiry.
const previousTz = process.env.TZ;
process.env.TZ = "Asia/Kolkata";
const NEW_YORK = `${PG_URL}${PG_URL.includes("?") ? "&" : "?"}options=${encodeURIComponent("-c TimeZone=America/New_York")}`;

const require = createRequire(import.meta.url);
type PgStore = session.Store & { pruneSessions(fn?: (err?: Error) => void): void; close(): Promise<void> };
const PGStore = require("connect-pg-simple")(session) as new (options: object) => PgStore;

const skip = await pgGate();
const pool = pgPool({ connectionString: NEW_YORK });
const knex = knexFactory({ client: "pg", connection: NEW_YORK, pool: { min: 0, max: 4 } });
const tables = ["cps_created", "cps_suite", "cps_suite_knex", "cps_store"];
// Their table.sql names its key and index after the default table ("session_pkey"), whatever the
// table: a schema of this file's own keeps them from clashing with anyone else's in the database.
const SCHEMA = "sk_knex_cps";
afterAll(async () => {
  for (const t of tables) await pool.query(`drop table if exists ${t}`);
  await pool.query(`drop schema if exists ${SCHEMA} cascade`);
  await pool.end();
  await knex.destroy();
  process.env.TZ = previousTz;
  if (previousTz === undefined) delete process.env.TZ;
});

describe.skipIf(skip)("connect-pg-simple 10 table, database in America/New_York, Node in Asia/Kolkata", () => {
  let theirs: PgStore;
  const backend = knexAdapter(
    { pg: pool },
    { schemaName: SCHEMA, tableName: "cps_shared", legacy: "connect-pg-simple" },
  );
  let ours: ReturnType<typeof createStore>;

  beforeAll(async () => {
    expect(new Date(Date.UTC(2026, 0, 1)).getTimezoneOffset()).toBe(-330);
    expect((await pool.query("show timezone")).rows[0].TimeZone).toBe("America/New_York");
    await pool.query(`drop schema if exists ${SCHEMA} cascade`);
    await pool.query(`create schema ${SCHEMA}`);
    // Their own DDL (table.sql), created by their store.
    theirs = new PGStore({
      pool,
      schemaName: SCHEMA,
      tableName: "cps_shared",
      createTableIfMissing: true,
      pruneSessionInterval: false,
    });
    await call((cb) => theirs.set("setup", sessionAt(Date.now() + HOUR), cb));
    ours = createStore(backend, { gcInterval: 0 }); // prepares the table at once: after theirs made it
    await ours.clear();
  });
  afterAll(async () => {
    await ours?.close();
    await theirs?.close();
  });

  it("an expiry either store writes is the same instant for the other", async () => {
    const now = Date.now();
    // Theirs: whole seconds, rounded up.
    await call((cb) => theirs.set("theirs", sessionAt(now + HOUR + 1234), cb));
    expect((await backend.get("theirs", now))?.expiresAt).toBe(Math.ceil((now + HOUR + 1234) / 1000) * 1000);
    // Ours: to the millisecond, and the database agrees on the instant.
    await backend.upsert(write("ours", now + HOUR + 567, { now }));
    expect((await backend.get("ours", now))?.expiresAt).toBe(now + HOUR + 567);
    const { rows } = await pool.query(
      "select extract(epoch from expire::timestamptz) * 1000 as ms, expire::text as local from sk_knex_cps.cps_shared where sid = 'ours'",
    );
    expect(Number(rows[0].ms)).toBe(now + HOUR + 567);
    // The stored wall time is New York's.
    const wall = new Intl.DateTimeFormat("sv-SE", {
      timeZone: "America/New_York",
      dateStyle: "short",
      timeStyle: "medium",
    });
    expect(rows[0].local.slice(0, 19)).toBe(wall.format(new Date(now + HOUR + 567)));
  });

  it("a session live or expired for one store is so for the other, two minutes either side", () =>
    expectSameLiveness(backend, ours, theirs));

  it("each store's cleanup deletes only expired sessions, whichever store wrote them", async () => {
    await ours.clear();
    const now = Date.now();
    await ours.set("kept-by-us", sessionAt(now + HOUR, "us"));
    await call((cb) => theirs.set("kept-by-them", sessionAt(now + HOUR, "them"), cb));
    await backend.upsert(write("stale", now - 120_000, { now: now - HOUR }));
    await call((cb) => theirs.pruneSessions(cb));
    expect((await ours.ids()).sort()).toEqual(["kept-by-them", "kept-by-us"]);
    expect((await pool.query("select count(*)::int as n from sk_knex_cps.cps_shared")).rows[0].n).toBe(2);
    await call((cb) => theirs.set("stale", sessionAt(now - 120_000), cb));
    expect(await ours.prune()).toBe(1);
    expect((await ours.ids()).sort()).toEqual(["kept-by-them", "kept-by-us"]);
  });

  it("reuses its index and adds none; creates its exact layout when the table is missing", async () => {
    const indexes = async (table: string) =>
      (await pool.query("select indexname from pg_indexes where tablename = $1 order by 1", [table])).rows.map(
        (r) => r.indexname,
      );
    // Their table.sql names its index and key after the default table, whatever the table.
    expect(await indexes("cps_shared")).toEqual(["IDX_session_expire", "session_pkey"]);
    await backend.init();
    expect(await indexes("cps_shared")).toEqual(["IDX_session_expire", "session_pkey"]);
    await pool.query("drop table if exists cps_created");
    await knexAdapter(knex, { tableName: "cps_created", legacy: "connect-pg-simple" }).init();
    expect(await indexes("cps_created")).toEqual(["IDX_cps_created_expire", "cps_created_pkey"]);
    const columns = await pool.query(
      "select column_name, data_type, datetime_precision from information_schema.columns where table_name = 'cps_created' order by ordinal_position",
    );
    expect(columns.rows.map((c) => `${c.column_name} ${c.data_type}`)).toEqual([
      "sid character varying",
      "sess json",
      "expire timestamp without time zone",
    ]);
    const created = new PGStore({ pool, tableName: "cps_created", pruneSessionInterval: false });
    await call((cb) => created.set("x", sessionAt(Date.now() + HOUR), cb));
    expect(
      await createStore(knexAdapter(knex, { tableName: "cps_created", legacy: "connect-pg-simple" }), {
        gcInterval: 0,
      }).get("x"),
    ).toMatchObject({ user: "ann" });
    await created.close();
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

// The whole contract on their layout, through both runners, in New York.
backendConformance(
  "connect-pg-simple layout ({ pg: pool }, New York)",
  () => knexAdapter({ pg: pool }, { tableName: "cps_suite", legacy: "connect-pg-simple" }),
  { skip, owners: false, tombstones: false },
);
backendConformance(
  "connect-pg-simple layout (knex, New York)",
  () => knexAdapter(knex, { tableName: "cps_suite_knex", legacy: "connect-pg-simple" }),
  { skip, owners: false, tombstones: false },
);
storeConformance(
  "connect-pg-simple layout (New York)",
  () => knexAdapter({ pg: pool }, { tableName: "cps_store", legacy: "connect-pg-simple" }),
  { skip, owners: false, tombstones: false },
);
