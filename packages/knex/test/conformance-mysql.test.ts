import { backendConformance, storeConformance } from "@sessionkit/conformance";
import { afterAll } from "vitest";
import { knexAdapter } from "../src/index.js";
import { dropTables, mysqlGate, mysqlKnex } from "./helpers/databases.js";

const skip = await mysqlGate();
const knex = mysqlKnex();
afterAll(async () => {
  await dropTables(knex, "conf_my_backend", "conf_my_store");
  await knex.destroy();
});

// 16 MB less room for the statement: MariaDB's default max_allowed_packet is 16 MiB.
backendConformance("knex MariaDB (mysql2)", () => knexAdapter(knex, { tableName: "conf_my_backend" }), {
  skip,
  largePayloadBytes: 16_000_000,
});
storeConformance("knex MariaDB (mysql2)", () => knexAdapter(knex, { tableName: "conf_my_store" }), { skip });
