import { join } from "node:path";
import { createStore, ErrorCodes, isSessionStoreError, memoryBackend } from "@sessionkit/core";
import knexFactory from "knex";
import { afterAll, describe, expect, it } from "vitest";
import { type KnexAdapterOptions, knexAdapter } from "../src/index.js";
import { mysqlPool, pgPool, sqliteDb, tempDir } from "./support/databases.js";

// No query is sent by construction: these clients never connect.
const pg = knexFactory({ client: "pg", connection: "postgres://nobody@127.0.0.1:1/none" });
const mysql = knexFactory({ client: "mysql2", connection: "mysql://nobody@127.0.0.1:1/none" });
const sqlite = knexFactory({ client: "better-sqlite3", connection: { filename: ":memory:" }, useNullAsDefault: true });
const pool = pgPool({ connectionString: "postgres://nobody@127.0.0.1:1/none" });
const myPool = mysqlPool({ uri: "mysql://nobody@127.0.0.1:1/none" });
const tmp = tempDir("options");
const db = sqliteDb(join(tmp.dir, "options.db"));
afterAll(async () => {
  await Promise.all([pg.destroy(), mysql.destroy(), sqlite.destroy(), pool.end()]);
  await new Promise((resolve) => myPool.end(resolve));
  db.close();
  tmp.remove();
});

function configErrorOf(make: () => unknown): string {
  try {
    make();
  } catch (error) {
    if (isSessionStoreError(error, ErrorCodes.CONFIG)) return error.message;
    throw error;
  }
  throw new Error("expected a config error, nothing was thrown");
}

describe("knexAdapter options", () => {
  const hostile: Array<[keyof KnexAdapterOptions, unknown]> = [
    ["tableName", 'sessions"; drop table users; --'],
    ["tableName", "sessions`"],
    ["tableName", "public.sessions"],
    ["tableName", ""],
    ["tableName", "1sessions"],
    ["tableName", "x".repeat(51)],
    ["tableName", 42],
    ["schemaName", "a b"],
    ["legacy", "connect-redis"],
    ["createTable", "yes"],
    ["preparedStatements", 1],
    ["indexExpires", "no"],
  ];
  it.each(hostile)("rejects %s = %j synchronously, naming the option", (option, value) => {
    expect(configErrorOf(() => knexAdapter(pg, { [option]: value }))).toContain(`"${option}"`);
  });

  it("rejects unknown options, listing the known ones", () => {
    const message = configErrorOf(() => knexAdapter(pg, { tablename: "x" } as KnexAdapterOptions));
    expect(message).toContain('"tablename"');
    expect(message).toContain("tableName");
  });

  it("rejects what is neither knex nor one driver handle", () => {
    for (const bad of [undefined, null, {}, "pg", () => {}, { pg: {} }, { pg: pool, mysql2: myPool }, { mongo: {} }]) {
      expect(configErrorOf(() => knexAdapter(bad as never))).toContain('"knex"');
    }
  });

  it("rejects legacy layouts of another database and options of another dialect", () => {
    expect(configErrorOf(() => knexAdapter(mysql, { legacy: "connect-pg-simple" }))).toContain('"legacy"');
    expect(configErrorOf(() => knexAdapter({ pg: pool }, { legacy: "express-mysql-session" }))).toContain('"legacy"');
    expect(configErrorOf(() => knexAdapter(sqlite, { schemaName: "main" }))).toContain('"schemaName"');
    expect(configErrorOf(() => knexAdapter(mysql, { indexExpires: true }))).toContain('"indexExpires"');
  });
});

describe("declared capabilities", () => {
  const cases: Array<[string, ReturnType<typeof knexAdapter>, string, number]> = [
    ["knex pg", knexAdapter(pg), "knex:pg", 1_000_000_000],
    ["pg pool", knexAdapter({ pg: pool }), "pg", 1_000_000_000],
    ["knex mysql2", knexAdapter(mysql), "knex:mysql", 16 * 1024 * 1024 - 1],
    ["mysql2 pool", knexAdapter({ mysql2: myPool }), "mysql2", 16 * 1024 * 1024 - 1],
    ["knex better-sqlite3", knexAdapter(sqlite), "knex:sqlite", 999_000_000],
    ["better-sqlite3", knexAdapter({ betterSqlite3: db }), "better-sqlite3", 999_000_000],
  ];
  it.each(cases)(
    "%s: sessionkit's own layout stores owners, creation times and tombstones",
    (_, backend, name, max) => {
      expect(backend.name).toBe(name);
      expect(backend.capabilities).toMatchObject({
        owners: true,
        tombstones: true,
        createdAt: true,
        maxPayloadBytes: max,
      });
      expect(backend.capabilities?.gcBatchSize).toBeGreaterThan(0);
      // A database over the network takes longer GC batches (each batch walks over the index
      // entries earlier ones deleted); SQLite, in this process, shorter ones than the store's
      // default, which block it for less.
      const batchTime = name.includes("sqlite") ? 5 : 200;
      expect(backend.capabilities?.gcBatchTime).toBe(batchTime);
      expect(backend.capabilities?.legacy).toBeUndefined();
    },
  );

  it("declares the ids a table can't hold", () => {
    const long = "é".repeat(600); // 1200 bytes
    expect(knexAdapter(mysql).capabilities?.idProblem?.(long)).toMatch(/1020 bytes/);
    expect(knexAdapter(mysql).capabilities?.idProblem?.("é".repeat(500))).toBeUndefined();
    expect(knexAdapter(pg).capabilities?.idProblem?.("x".repeat(2001))).toMatch(/2000 bytes/);
    const ems = knexAdapter(mysql, { legacy: "express-mysql-session" }).capabilities?.idProblem;
    expect(ems?.("x".repeat(129))).toMatch(/128 characters/);
    expect(ems?.("abc ")).toMatch(/space/);
    expect(ems?.("x".repeat(128))).toBeUndefined();
    expect(knexAdapter(pg, { legacy: "connect-session-knex" }).capabilities?.idProblem?.("x".repeat(256))).toMatch(
      /255/,
    );
  });

  it.each([
    ["connect-session-knex", pg],
    ["connect-pg-simple", pool],
    ["express-mysql-session", myPool],
  ] as const)("legacy %s declares no owners, tombstones or creation times, and names itself", (legacy, client) => {
    const handle = client === pool ? { pg: pool } : client === myPool ? { mysql2: myPool } : (client as typeof pg);
    const backend = knexAdapter(handle as never, { legacy });
    expect(backend.name).toMatch(new RegExp(`:${legacy}$`));
    expect(backend.capabilities).toMatchObject({ owners: false, tombstones: false, createdAt: false, legacy });
  });

  it("over a legacy layout the store refuses encryption and a custom serializer (the other store reads plain JSON)", () => {
    const legacy = knexAdapter(pg, { legacy: "connect-session-knex" });
    const key = Buffer.alloc(32, 1).toString("base64");
    for (const options of [
      { encryption: { keys: [key] } },
      { serializer: { stringify: JSON.stringify, parse: JSON.parse } },
    ]) {
      expect(configErrorOf(() => createStore(legacy, { ...options, gcInterval: 0 } as never))).toMatch(
        /connect-session-knex/,
      );
    }
    // The same options are fine over sessionkit's own layout (and memory).
    expect(() =>
      createStore(memoryBackend(), { encryption: { keys: [key] }, gcInterval: 0 } as never).close(),
    ).not.toThrow();
  });
});
