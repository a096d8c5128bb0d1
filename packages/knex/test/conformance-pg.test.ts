import { backendConformance, storeConformance } from "@sessionkit/conformance";
import { afterAll } from "vitest";
import { knexAdapter } from "../src/index.js";
import { dropTables, pgGate, pgKnex, pgPool } from "./support/databases.js";

const skip = await pgGate();
const knex = pgKnex();
const pool = pgPool();
afterAll(async () => {
  await dropTables(knex, "conf_pg_knex", "conf_pg_pool", "conf_pg_unprepared", "conf_pg_store");
  await knex.destroy();
  await pool.end();
});

backendConformance("knex PostgreSQL (knex.raw)", () => knexAdapter(knex, { tableName: "conf_pg_knex" }), {
  skip,
  largePayloadBytes: 16_000_000,
});
backendConformance(
  "knex PostgreSQL ({ pg: pool }, prepared)",
  () => knexAdapter({ pg: pool }, { tableName: "conf_pg_pool" }),
  {
    skip,
  },
);
backendConformance(
  "knex PostgreSQL ({ pg: pool }, preparedStatements: false)",
  () => knexAdapter({ pg: pool }, { tableName: "conf_pg_unprepared", preparedStatements: false }),
  { skip },
);
storeConformance("knex PostgreSQL", () => knexAdapter({ pg: pool }, { tableName: "conf_pg_store" }), { skip });
