import { join } from "node:path";
import { backendConformance, storeConformance } from "@sessionkit/conformance";
import { afterAll } from "vitest";
import { knexAdapter } from "../src/index.js";
import { sqliteDb, sqliteKnex, tempDir } from "./support/databases.js";

const tmp = tempDir("conformance");
const file = sqliteKnex(join(tmp.dir, "sessions.db"));
const memory = sqliteKnex(":memory:");
const db = sqliteDb(join(tmp.dir, "direct.db"));
const memoryDb = sqliteDb(":memory:");
afterAll(async () => {
  await file.destroy();
  await memory.destroy();
  db.close();
  memoryDb.close();
  tmp.remove();
});

backendConformance("knex SQLite file (knex.raw)", () => knexAdapter(file, { tableName: "conf_backend" }), {
  largePayloadBytes: 16_000_000,
});
backendConformance("knex SQLite :memory: (knex.raw)", () => knexAdapter(memory, { tableName: "conf_backend" }));
backendConformance(
  "knex SQLite file ({ betterSqlite3: db })",
  () => knexAdapter({ betterSqlite3: db }, { tableName: "conf_backend" }),
  {
    largePayloadBytes: 16_000_000,
  },
);
backendConformance("knex SQLite :memory: ({ betterSqlite3: db })", () =>
  knexAdapter({ betterSqlite3: memoryDb }, { tableName: "conf_backend" }),
);
storeConformance("knex SQLite file", () => knexAdapter({ betterSqlite3: db }, { tableName: "conf_store" }));
