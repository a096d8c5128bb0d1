import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { write } from "@sessionkit/conformance";
import { ErrorCodes, type SessionBackend } from "@sessionkit/core";
import type { Knex } from "knex";
import { afterAll, describe, expect, it } from "vitest";
import { type KnexAdapterOptions, knexAdapter } from "../src/index.js";
import {
  dropTables,
  mysqlGate,
  mysqlKnex,
  mysqlPool,
  pgGate,
  pgKnex,
  pgPool,
  sqliteDb,
  sqliteKnex,
  tempDir,
} from "./support/databases.js";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const T0 = Date.now();
const live = T0 + 3_600_000;
const tmp = tempDir("schema");
afterAll(() => tmp.remove());

interface Dialect {
  label: string;
  skip: string | false;
  prefix: string;
  /** A fresh knex (another process, with its own pool). */
  knex(): Knex;
  /** An adapter on the user's own driver handle (another process). */
  direct(options: KnexAdapterOptions): { backend: SessionBackend; close(): Promise<void> };
  /** The 0.1 table of this dialect. */
  v01(table: string): string[];
  /** Several processes starting at once on one table (SQLite: real processes, its driver being synchronous). */
  startTogether?(tableName: string): Promise<void>;
  /** Other stores' tables this dialect can hold. */
  foreign: Array<[store: string, ddl: (table: string) => string]>;
}

const dialects: Dialect[] = [
  {
    label: "PostgreSQL",
    skip: await pgGate(),
    prefix: "schema_pg",
    knex: () => pgKnex(),
    direct(options) {
      const pool = pgPool();
      return { backend: knexAdapter({ pg: pool }, options), close: () => pool.end() };
    },
    v01: (t) => [
      `create table ${t} (sid text primary key, data text not null, expires bigint not null, owner text)`,
      `create index ${t}_expires_idx on ${t} (expires)`,
    ],
    foreign: [
      [
        "connect-session-knex",
        (t) => `create table ${t} (sid varchar(255) primary key, sess json not null, expired timestamptz not null)`,
      ],
      [
        "connect-pg-simple",
        (t) => `create table ${t} (sid varchar primary key, sess json not null, expire timestamp(6) not null)`,
      ],
    ],
  },
  {
    label: "MariaDB",
    skip: await mysqlGate(),
    prefix: "schema_my",
    knex: () => mysqlKnex(),
    direct(options) {
      const pool = mysqlPool();
      return {
        backend: knexAdapter({ mysql2: pool }, options),
        close: () => new Promise<void>((resolve) => pool.end(() => resolve())),
      };
    },
    v01: (t) => [
      `create table ${t} (sid varbinary(1020) not null primary key, data mediumtext character set utf8mb4 not null, expires bigint not null, owner varbinary(1020) null, key ${t}_expires_idx (expires), key ${t}_owner_idx (owner)) engine=InnoDB`,
    ],
    foreign: [
      [
        "connect-session-knex",
        (t) =>
          `create table ${t} (sid varchar(255) not null primary key, sess json not null, expired datetime not null)`,
      ],
      [
        "express-mysql-session",
        (t) =>
          `create table ${t} (session_id varchar(128) collate utf8mb4_bin not null, expires int(11) unsigned not null, data mediumtext collate utf8mb4_bin, primary key (session_id))`,
      ],
    ],
  },
  {
    label: "SQLite",
    skip: false,
    prefix: "schema_sq",
    knex: () => sqliteKnex(join(tmp.dir, "schema.db")),
    direct(options) {
      const db = sqliteDb(join(tmp.dir, "schema.db"));
      db.pragma("busy_timeout = 5000");
      return { backend: knexAdapter({ betterSqlite3: db }, options), close: async () => void db.close() };
    },
    v01: (t) => [
      `create table ${t} (sid text not null primary key, data text not null, expires integer not null, owner text)`,
      `create index ${t}_expires_idx on ${t} (expires)`,
    ],
    foreign: [
      [
        "connect-session-knex",
        (t) =>
          `create table ${t} (sid varchar(255) not null primary key, sess json not null, expired datetime not null)`,
      ],
    ],
    // One thread can't wait for a lock another connection of the same thread holds: four processes.
    startTogether: (tableName) =>
      Promise.all(
        Array.from({ length: 4 }, () =>
          run(
            process.execPath,
            [
              "--input-type=module",
              "-e",
              `import Database from "better-sqlite3";
             import { knexAdapter } from "${pathToFileURL(join(here, "../dist/index.js")).href}";
             const db = new Database(${JSON.stringify(join(tmp.dir, "schema.db"))}, { timeout: 10000 });
             await knexAdapter({ betterSqlite3: db }, { tableName: ${JSON.stringify(tableName)} }).init();
             db.close();`,
            ],
            { cwd: here },
          ),
        ),
      ).then(() => {}),
  },
];

for (const d of dialects) {
  describe.skipIf(d.skip)(`schema on ${d.label}`, () => {
    const knex = d.knex();
    const t = (name: string) => `${d.prefix}_${name}`;
    const created: string[] = [];
    const table = (name: string) => {
      created.push(t(name));
      return t(name);
    };
    afterAll(async () => {
      await dropTables(knex, ...created);
      await knex.destroy();
    });

    /** Several processes starting at once on one table: half through knex, half on their own driver handle. */
    async function startTogether(tableName: string, instances = 4): Promise<void> {
      if (d.startTogether) return d.startTogether(tableName);
      const knexes = Array.from({ length: instances / 2 }, () => d.knex());
      const direct = Array.from({ length: instances / 2 }, () => d.direct({ tableName }));
      try {
        await Promise.all([
          ...knexes.map((k) => knexAdapter(k, { tableName }).init()),
          ...direct.map((x) => x.backend.init()),
        ]);
      } finally {
        await Promise.all([...knexes.map((k) => k.destroy()), ...direct.map((x) => x.close())]);
      }
    }

    const columns = async (tableName: string) => Object.keys(await knex(tableName).columnInfo()).sort();

    it("creates the table with created and active, idempotently, when several processes start at once", async () => {
      const name = table("fresh");
      await startTogether(name);
      expect(await columns(name)).toEqual(["active", "created", "data", "expires", "owner", "sid"]);
      const backend = knexAdapter(knex, { tableName: name });
      await backend.init();
      await backend.upsert(write("a", live, { now: T0 }));
      expect(await backend.get("a", T0)).toMatchObject({ createdAt: T0, lastActiveAt: T0 });
    });

    it("upgrades a sessionkit 0.1 table in place: sessions kept, then tombstones and creation times work", async () => {
      const name = table("v01");
      await knex.schema.dropTableIfExists(name);
      for (const sql of d.v01(name)) await knex.raw(sql);
      await knex(name).insert([
        { sid: "old-1", data: '{"cookie":{},"n":1}', expires: live, owner: "alice" },
        { sid: "old-2", data: '{"cookie":{},"n":2}', expires: live, owner: "alice" },
      ]);
      await startTogether(name);
      expect(await columns(name)).toEqual(["active", "created", "data", "expires", "owner", "sid"]);
      const backend = knexAdapter(knex, { tableName: name });
      await backend.init(); // idempotent on the upgraded table
      // Written by 0.1: read back without creation times, until the first write.
      const old = await backend.get("old-1", T0);
      expect(old).toMatchObject({ payload: '{"cookie":{},"n":1}', expiresAt: live, owner: "alice" });
      expect(old?.createdAt).toBeUndefined();
      await backend.touch({ id: "old-1", expiresAt: live + 1, now: T0 + 5, owner: "alice" });
      expect(await backend.get("old-1", T0)).toMatchObject({
        createdAt: T0 + 5,
        lastActiveAt: T0 + 5,
        expiresAt: live + 1,
      });
      // A payload may now be NULL: tombstones.
      await backend.destroy("old-2", { now: T0 + 6, until: T0 + 60_000 });
      expect(await backend.upsert(write("old-2", live, { now: T0 + 7 }))).toBe(false);
      expect((await backend.listByOwner("alice", T0 + 7)).map((r) => r.id)).toEqual(["old-1"]);
    });

    it("with createTable: false, a missing table fails init with one message naming it", async () => {
      const error = await knexAdapter(knex, { tableName: t("absent"), createTable: false })
        .init()
        .catch((e) => e);
      expect(error).toMatchObject({ code: ErrorCodes.CONFIG });
      expect(error.message).toMatch(new RegExp(`table "${t("absent")}" does not exist.*createTable`));
      expect(await knex.schema.hasTable(t("absent"))).toBe(false);
    });

    it("with createTable: false, a 0.1 table is not upgraded and init says so", async () => {
      const name = table("v01_kept");
      await knex.schema.dropTableIfExists(name);
      for (const sql of d.v01(name)) await knex.raw(sql);
      const error = await knexAdapter(knex, { tableName: name, createTable: false })
        .init()
        .catch((e) => e);
      expect(error.message).toMatch(/sessionkit 0\.1's layout.*createTable is true/);
      expect(await columns(name)).toEqual(["data", "expires", "owner", "sid"]);
    });

    for (const [store, ddl] of d.foreign) {
      it(`recognises ${store}'s table, and says which option opens it (never ALTER TABLE)`, async () => {
        const name = table(store.replaceAll("-", "_"));
        await knex.schema.dropTableIfExists(name);
        await knex.raw(ddl(name));
        const error = await knexAdapter(knex, { tableName: name })
          .init()
          .catch((e) => e);
        expect(error).toMatchObject({ code: ErrorCodes.CONFIG });
        expect(error.message).toContain(`table "${name}" has the columns`);
        expect(error.message).toContain(`${store}'s layout`);
        expect(error.message).toContain(`legacy: "${store}"`);
        expect(error.message).toContain("tableName");
        expect(error.message).not.toMatch(/alter/i);
        // And the other way round: opened as another store's layout, it says what it is.
        const other = store === "connect-session-knex" ? undefined : "connect-session-knex";
        const wrong = await knexAdapter(knex, {
          tableName: name,
          ...(other ? { legacy: other } : { legacy: undefined }),
        })
          .init()
          .catch((e) => e);
        expect(wrong.message).toContain(`${store}'s layout`);
        // With the right option it opens, adding nothing.
        await knexAdapter(knex, { tableName: name, legacy: store as never }).init();
      });
    }

    it("a table of no known layout gets the same message, listing the layouts it knows", async () => {
      const name = table("unknown");
      await knex.schema.dropTableIfExists(name);
      await knex.raw(`create table ${name} (id integer primary key, payload text)`);
      const error = await knexAdapter(knex, { tableName: name })
        .init()
        .catch((e) => e);
      expect(error.message).toMatch(
        /has the columns id, payload, which is no layout sessionkit knows \(sessionkit's own, connect-session-knex's, connect-pg-simple's, express-mysql-session's\); to keep sessionkit's own layout, pass another tableName/,
      );
    });
  });
}
