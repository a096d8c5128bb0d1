import { join } from "node:path";
import { backendConformance, storeConformance } from "@sessionkit/conformance";
import { afterAll } from "vitest";
import { knexAdapter } from "../src/index.js";
import { sqliteKnex, tempDir } from "./helpers/databases.js";

const tmp = tempDir("conformance");
const file = sqliteKnex(join(tmp.dir, "sessions.db"));
const memory = sqliteKnex(":memory:");
afterAll(async () => {
  await file.destroy();
  await memory.destroy();
  tmp.remove();
});

backendConformance("knex SQLite file (better-sqlite3)", () => knexAdapter(file, { tableName: "conf_backend" }), {
  largePayloadBytes: 16_000_000,
});
storeConformance("knex SQLite file (better-sqlite3)", () => knexAdapter(file, { tableName: "conf_store" }));
backendConformance("knex SQLite :memory: (better-sqlite3)", () => knexAdapter(memory, { tableName: "conf_backend" }), {
  largePayloadBytes: 16_000_000,
});
storeConformance("knex SQLite :memory: (better-sqlite3)", () => knexAdapter(memory, { tableName: "conf_store" }));
