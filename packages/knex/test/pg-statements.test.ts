import { record } from "@sessionkit/conformance";
import { afterAll, describe, expect, it } from "vitest";
import { knexAdapter } from "../src/index.js";
import { dropTables, pgGate, pgKnex } from "./helpers/databases.js";

const skip = await pgGate();

describe.skipIf(skip)("PostgreSQL prepared statements", () => {
  // One connection, so the statements prepared by the adapter are visible to the check below.
  const knex = pgKnex({ pool: { min: 0, max: 1 } });
  afterAll(async () => {
    await dropTables(knex, "pgstmt_sessions");
    await knex.destroy();
  });

  const preparedNames = async () => {
    const { rows } = await knex.raw("select name from pg_prepared_statements where name like 'sessionkit_%'");
    return rows.map((r: { name: string }) => r.name);
  };

  it("runs the hot path without named statements when preparedStatements is false", async () => {
    const backend = knexAdapter(knex, { tableName: "pgstmt_sessions", preparedStatements: false });
    await backend.init();
    await backend.upsert(record("a", Date.now() + 60_000));
    expect(await backend.get("a")).not.toBeNull();
    expect(await preparedNames()).toEqual([]);
  });

  it("prepares each hot-path statement once per connection by default", async () => {
    const backend = knexAdapter(knex, { tableName: "pgstmt_sessions" });
    for (let i = 0; i < 3; i++) {
      await backend.upsert(record("b", Date.now() + 60_000));
      await backend.get("b");
    }
    expect((await preparedNames()).length).toBe(2);
  });
});
