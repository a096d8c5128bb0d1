import { join } from "node:path";
import { record } from "@sessionkit/conformance";
import { afterAll, describe, expect, it } from "vitest";
import { knexAdapter } from "../src/index.js";
import { sqliteKnex, tempDir } from "./helpers/databases.js";

// SQLite statements run on an idle connection of knex's pool without the asynchronous acquire.
// These pin down that this never borrows a connection someone else holds.
const tmp = tempDir("pool");
const knex = sqliteKnex(join(tmp.dir, "pool.db"));
afterAll(async () => {
  await knex.destroy();
  tmp.remove();
});

describe("SQLite connection use", () => {
  const backend = knexAdapter(knex, { tableName: "pool_sessions" });
  const live = Date.now() + 3_600_000;

  it("waits for a transaction holding the only connection instead of writing inside it", async () => {
    await backend.init();
    let pending: Promise<void> | undefined;
    await knex
      .transaction(async (trx) => {
        await trx("pool_sessions").insert({ sid: "in-trx", data: "{}", expires: live });
        pending = backend.upsert(record("outside", live));
        // Give the upsert every chance to run now, on the transaction's connection, if it were going to.
        await new Promise((resolve) => setTimeout(resolve, 50));
        throw new Error("roll back");
      })
      .catch(() => {});
    await pending;
    expect(await backend.get("in-trx")).toBeNull();
    expect(await backend.get("outside")).not.toBeNull();
  });

  it("queues behind other waiters and keeps every write under concurrency", async () => {
    await Promise.all(Array.from({ length: 200 }, (_, i) => backend.upsert(record(`c-${i}`, live))));
    expect(await backend.count(Date.now())).toBe(201);
  });
});
