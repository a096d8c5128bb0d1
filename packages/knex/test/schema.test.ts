import { join } from "node:path";
import { record } from "@sessionkit/conformance";
import type { Knex } from "knex";
import { afterAll, describe, expect, it } from "vitest";
import { knexAdapter } from "../src/index.js";
import { dropTables, mysqlGate, mysqlKnex, pgGate, pgKnex, sqliteKnex, tempDir } from "./helpers/databases.js";

const live = Date.now() + 3_600_000;
const pgSkip = await pgGate();
const mysqlSkip = await mysqlGate();

/** Several processes starting at once: separate knex instances (separate pools) init one fresh table together. */
async function concurrentFirstStarts(makeKnex: () => Knex, tableName: string, instances = 4): Promise<void> {
  const knexes = Array.from({ length: instances }, makeKnex);
  try {
    await Promise.all(knexes.map((k) => knexAdapter(k, { tableName }).init()));
  } finally {
    await Promise.all(knexes.map((k) => k.destroy()));
  }
}

describe.skipIf(pgSkip)("schema on PostgreSQL", () => {
  const knex = pgKnex();
  const race = Array.from({ length: 3 }, (_, i) => `schema_pg_race_${i}`);
  afterAll(async () => {
    await dropTables(knex, "schema_pg_types", "schema_pg_legacy_shape", ...race);
    await knex.raw("drop schema if exists schema_pg_ns cascade");
    await knex.destroy();
  });

  it("creates text payload, BIGINT expiry, a primary key and indexes on expiry and owner", async () => {
    await knexAdapter(knex, { tableName: "schema_pg_types" }).init();
    const columns = await knex("information_schema.columns")
      .select("column_name", "data_type", "is_nullable")
      .where({ table_name: "schema_pg_types" });
    const types = Object.fromEntries(columns.map((c) => [c.column_name, `${c.data_type} ${c.is_nullable}`]));
    expect(types).toEqual({ sid: "text NO", data: "text NO", expires: "bigint NO", owner: "text YES" });
    const indexes = await knex("pg_indexes").select("indexdef").where({ tablename: "schema_pg_types" });
    const defs = indexes.map((i) => i.indexdef).join("\n");
    expect(defs).toMatch(/UNIQUE INDEX .* \(sid\)/);
    expect(defs).toMatch(/INDEX schema_pg_types_expires_idx .* \(expires\)/);
    expect(defs).toMatch(/INDEX schema_pg_types_owner_idx .* \(owner\) WHERE \(owner IS NOT NULL\)/);
  });

  it("concurrent first starts on one fresh table all succeed", async () => {
    for (const table of race) await concurrentFirstStarts(pgKnex, table);
    const backend = knexAdapter(knex, { tableName: race[0] });
    await backend.upsert(record("after-race", live));
    expect(await backend.get("after-race")).not.toBeNull();
  });

  it("creates the schema named by schemaName and the table in it", async () => {
    const backend = knexAdapter(knex, { schemaName: "schema_pg_ns", tableName: "sessions" });
    await backend.init();
    await backend.upsert(record("in-schema", live));
    const rows = await knex.withSchema("schema_pg_ns").from("sessions").select("sid");
    expect(rows).toEqual([{ sid: "in-schema" }]);
  });

  it("refuses a table of another layout at init, pointing at the legacy option", async () => {
    await knex.raw(
      "create table schema_pg_legacy_shape (sid varchar(255) primary key, sess json not null, expired timestamptz not null)",
    );
    await expect(knexAdapter(knex, { tableName: "schema_pg_legacy_shape" }).init()).rejects.toThrow(/legacy/);
  });

  it("with createTable: false, a missing table fails init with its name", async () => {
    await expect(knexAdapter(knex, { tableName: "schema_pg_absent", createTable: false }).init()).rejects.toThrow(
      /schema_pg_absent/,
    );
    expect(await knex.schema.hasTable("schema_pg_absent")).toBe(false);
  });
});

describe.skipIf(mysqlSkip)("schema on MariaDB/MySQL", () => {
  const knex = mysqlKnex();
  const race = Array.from({ length: 3 }, (_, i) => `schema_my_race_${i}`);
  afterAll(async () => {
    await dropTables(knex, "schema_my_types", "schema_my_absent", ...race);
    await knex.destroy();
  });

  it("creates a MEDIUMTEXT payload (TEXT holds only 64 KB), BIGINT expiry, binary ids and indexes", async () => {
    await knexAdapter(knex, { tableName: "schema_my_types" }).init();
    const columns = await knex("information_schema.columns")
      .select({ name: "COLUMN_NAME", type: "COLUMN_TYPE", key: "COLUMN_KEY" })
      .where({ TABLE_SCHEMA: knex.raw("database()"), TABLE_NAME: "schema_my_types" });
    const types = Object.fromEntries(columns.map((c) => [c.name, `${c.type} ${c.key}`]));
    expect(types).toEqual({
      sid: "varbinary(1020) PRI",
      data: "mediumtext ",
      expires: "bigint(20) MUL",
      owner: "varbinary(1020) MUL",
    });
  });

  it("keeps ids that differ only in case or trailing spaces apart (default collations would merge them)", async () => {
    const backend = knexAdapter(knex, { tableName: "schema_my_types" });
    for (const id of ["abc", "ABC", "abc ", "abç"]) await backend.upsert(record(id, live, JSON.stringify({ id })));
    for (const id of ["abc", "ABC", "abc ", "abç"])
      expect((await backend.get(id))?.payload).toBe(JSON.stringify({ id }));
    await backend.upsert(record("x", live, "{}", "Alice"));
    expect(await backend.destroyByOwner("alice")).toBe(0);
    expect(await backend.destroyByOwner("Alice")).toBe(1);
  });

  it("concurrent first starts on one fresh table all succeed", async () => {
    for (const table of race) await concurrentFirstStarts(mysqlKnex, table);
  });

  it("with createTable: false, a missing table fails init with its name", async () => {
    await expect(knexAdapter(knex, { tableName: "schema_my_absent", createTable: false }).init()).rejects.toThrow(
      /schema_my_absent/,
    );
  });
});

describe("schema on SQLite", () => {
  const tmp = tempDir("schema");
  const file = join(tmp.dir, "schema.db");
  const knex = sqliteKnex(file);
  afterAll(async () => {
    await knex.destroy();
    tmp.remove();
  });

  it("creates the table with an integer expiry and indexes on expiry and owner", async () => {
    await knexAdapter(knex, { tableName: "types" }).init();
    const columns = await knex.raw("pragma table_info(types)");
    expect(columns.map((c: { name: string; type: string }) => `${c.name} ${c.type.toLowerCase()}`)).toEqual([
      "sid text",
      "data text",
      "expires integer",
      "owner text",
    ]);
    const indexes = await knex.raw("pragma index_list(types)");
    expect(indexes.map((i: { name: string }) => i.name).sort()).toEqual(
      expect.arrayContaining(["types_expires_idx", "types_owner_idx"]),
    );
  });

  it("concurrent first starts on one fresh database file all succeed", async () => {
    await concurrentFirstStarts(() => sqliteKnex(join(tmp.dir, "race.db")), "race");
  });

  it("with createTable: false, a missing table fails init", async () => {
    await expect(knexAdapter(knex, { tableName: "absent", createTable: false }).init()).rejects.toThrow(/absent/);
  });
});
