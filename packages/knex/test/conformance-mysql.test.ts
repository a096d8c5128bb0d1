import { backendConformance, storeConformance } from "@sessionkit/conformance";
import { afterAll } from "vitest";
import { knexAdapter } from "../src/index.js";
import { dropTables, mysqlGate, mysqlKnex, mysqlPool } from "./support/databases.js";

const skip = await mysqlGate();
const knex = mysqlKnex();
// mysql2 sets the FOUND_ROWS client flag by default; this pool clears it: upsert must tell a
// refused write either way.
const pool = mysqlPool({ flags: ["-FOUND_ROWS"] });
const promisePool = mysqlPool().promise();
afterAll(async () => {
  await dropTables(knex, "conf_my_knex", "conf_my_pool", "conf_my_promise", "conf_my_store");
  await knex.destroy();
  await new Promise((resolve) => pool.end(resolve));
  await promisePool.end();
});

// 16 MB less room for the statement: MariaDB's default max_allowed_packet is 16 MiB.
backendConformance("knex MariaDB (knex.raw)", () => knexAdapter(knex, { tableName: "conf_my_knex" }), {
  skip,
  largePayloadBytes: 16_000_000,
});
backendConformance(
  "knex MariaDB ({ mysql2: pool }, execute, no FOUND_ROWS)",
  () => knexAdapter({ mysql2: pool }, { tableName: "conf_my_pool" }),
  { skip, largePayloadBytes: 16_000_000 },
);
backendConformance(
  "knex MariaDB ({ mysql2: promise pool }, execute)",
  () => knexAdapter({ mysql2: promisePool }, { tableName: "conf_my_promise" }),
  { skip },
);
storeConformance("knex MariaDB", () => knexAdapter({ mysql2: pool }, { tableName: "conf_my_store" }), { skip });
