import { join } from "node:path";
import { backendConformance, record } from "@sessionkit/conformance";
import type { Knex } from "knex";
import { afterAll, describe, expect, it } from "vitest";
import { GenericBackend } from "../src/generic-backend.js";
import { resolveOptions } from "../src/options.js";
import { dropTables, pgGate, pgKnex, sqliteKnex, tempDir } from "./helpers/databases.js";

// The portable path other knex clients (MSSQL, Oracle, CockroachDB, ...) take, exercised on the
// databases at hand so its query-builder statements are proven at least there.
const pgSkip = await pgGate();
const tmp = tempDir("generic");
const sqlite = sqliteKnex(join(tmp.dir, "generic.db"));
const pg = pgKnex();
afterAll(async () => {
  await dropTables(pg, "generic_pg", "generic_pg_legacy");
  await pg.destroy();
  await sqlite.destroy();
  tmp.remove();
});

function generic(knex: Knex, tableName: string, legacy = false): GenericBackend {
  const options = resolveOptions({ tableName, ...(legacy ? { legacy: "connect-session-knex" as const } : {}) });
  return new GenericBackend(knex, "generic", options, "generic-test", { owners: !legacy });
}

backendConformance("knex generic path on SQLite", () => generic(sqlite, "generic_sqlite"));
backendConformance("knex generic path on PostgreSQL", () => generic(pg, "generic_pg"), { skip: pgSkip });
backendConformance("knex generic path, legacy layout, on PostgreSQL", () => generic(pg, "generic_pg_legacy", true), {
  skip: pgSkip,
  owners: false,
});

describe("generic path", () => {
  it("creates its table with the schema builder, idempotently", async () => {
    const backend = generic(sqlite, "generic_builder");
    await Promise.all([backend.init(), backend.init()]);
    expect(await sqlite.schema.hasColumn("generic_builder", "owner")).toBe(true);
    await backend.upsert(record("x", Date.now() + 1000, "{}", "o"));
    expect(await backend.destroyByOwner("o")).toBe(1);
  });
});
