import { ErrorCodes, isSessionStoreError } from "@sessionkit/core";
import knexFactory, { type Knex } from "knex";
import { afterAll, describe, expect, it } from "vitest";
import { type KnexAdapterOptions, knexAdapter } from "../src/index.js";

// No query is sent by construction: these instances never connect.
const pg = knexFactory({ client: "pg", connection: "postgres://nobody@127.0.0.1:1/none" });
const mysql = knexFactory({ client: "mysql2", connection: "mysql://nobody@127.0.0.1:1/none" });
const sqlite = knexFactory({ client: "better-sqlite3", connection: { filename: ":memory:" }, useNullAsDefault: true });
const cockroach = knexFactory({ client: "cockroachdb", connection: "postgres://nobody@127.0.0.1:1/none" });
afterAll(async () => {
  await Promise.all([pg.destroy(), mysql.destroy(), sqlite.destroy(), cockroach.destroy()]);
});

function configErrorOf(make: () => unknown): { code: string; message: string } {
  try {
    make();
  } catch (error) {
    if (isSessionStoreError(error)) return { code: error.code, message: error.message };
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
    ["sidColumn", "sid]"],
    ["dataColumn", "data'"],
    ["expiresColumn", "ex-pires"],
    ["ownerColumn", "owner\u0000"],
    ["ownerColumn", "ü"],
  ];
  it.each(hostile)("rejects %s = %j synchronously as a config error naming the option", (option, value) => {
    const error = configErrorOf(() => knexAdapter(pg, { [option]: value }));
    expect(error.code).toBe(ErrorCodes.CONFIG);
    expect(error.message).toContain(`"${option}"`);
  });

  it("rejects unknown options, bad booleans, an unknown legacy layout and duplicate columns", () => {
    expect(configErrorOf(() => knexAdapter(pg, { tablename: "x" } as KnexAdapterOptions)).message).toContain(
      '"tablename"',
    );
    expect(configErrorOf(() => knexAdapter(pg, { createTable: "yes" } as never)).message).toContain('"createTable"');
    expect(configErrorOf(() => knexAdapter(pg, { preparedStatements: 1 } as never)).message).toContain(
      '"preparedStatements"',
    );
    expect(configErrorOf(() => knexAdapter(pg, { legacy: "connect-pg-simple" } as never)).message).toContain(
      '"legacy"',
    );
    expect(configErrorOf(() => knexAdapter(pg, { dataColumn: "SID" })).code).toBe(ErrorCodes.CONFIG);
    expect(configErrorOf(() => knexAdapter(pg, null as never)).message).toContain('"options"');
  });

  it("rejects an owner column in legacy mode and a schema on SQLite", () => {
    expect(
      configErrorOf(() => knexAdapter(pg, { legacy: "connect-session-knex", ownerColumn: "o" })).message,
    ).toContain('"ownerColumn"');
    expect(configErrorOf(() => knexAdapter(sqlite, { schemaName: "main" })).message).toContain('"schemaName"');
  });

  it("rejects something that is not a knex instance", () => {
    for (const notKnex of [undefined, null, {}, "pg", () => {}]) {
      expect(configErrorOf(() => knexAdapter(notKnex as never)).message).toContain('"knex"');
    }
  });

  it("accepts the longest allowed names", () => {
    expect(() => knexAdapter(pg, { tableName: "t".repeat(50), sidColumn: "s".repeat(63) })).not.toThrow();
  });
});

describe("declared dialect and capabilities", () => {
  const cases: Array<[string, Knex, string, number | undefined, number | undefined]> = [
    ["pg", pg, "knex:pg", 1_000_000_000, 10_000],
    ["mysql2", mysql, "knex:mysql", 16 * 1024 * 1024 - 1, 10_000],
    ["better-sqlite3", sqlite, "knex:sqlite", 999_000_000, 10_000],
    ["cockroachdb (generic, untested)", cockroach, "knex:cockroachdb", undefined, undefined],
  ];
  it.each(cases)("%s", (_label, knex, name, maxPayloadBytes, gcBatchSize) => {
    const backend = knexAdapter(knex);
    expect(backend.name).toBe(name);
    expect(backend.capabilities?.owners).toBe(true);
    expect(backend.capabilities?.maxPayloadBytes).toBe(maxPayloadBytes);
    expect(backend.capabilities?.gcBatchSize).toBe(gcBatchSize);
  });

  it("legacy mode declares that it stores no owners", async () => {
    const backend = knexAdapter(pg, { legacy: "connect-session-knex" });
    expect(backend.name).toBe("knex:pg:legacy");
    expect(backend.capabilities?.owners).toBe(false);
    await expect(backend.destroyByOwner("someone")).rejects.toMatchObject({ code: ErrorCodes.UNSUPPORTED });
  });
});
