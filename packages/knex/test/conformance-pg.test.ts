import { backendConformance, storeConformance } from "@sessionkit/conformance";
import { afterAll } from "vitest";
import { knexAdapter } from "../src/index.js";
import { dropTables, pgGate, pgKnex } from "./helpers/databases.js";

const skip = await pgGate();
const knex = pgKnex();
afterAll(async () => {
  await dropTables(knex, "conf_pg_backend", "conf_pg_store");
  await knex.destroy();
});

backendConformance("knex PostgreSQL", () => knexAdapter(knex, { tableName: "conf_pg_backend" }), {
  skip,
  largePayloadBytes: 16_000_000,
});
storeConformance("knex PostgreSQL", () => knexAdapter(knex, { tableName: "conf_pg_store" }), { skip });
