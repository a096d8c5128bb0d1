import { record } from "@sessionkit/conformance";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { knexAdapter } from "../src/index.js";
import { dropTables, mysqlGate, mysqlKnex } from "./helpers/databases.js";

// On MySQL, batches of one GC run continue from where the previous batch stopped (expiry, then id).
const skip = await mysqlGate();

describe.skipIf(skip)("MySQL garbage collection batches", () => {
  const knex = mysqlKnex();
  const backend = knexAdapter(knex, { tableName: "mygc_sessions" });
  const now = Date.now();
  const live = now + 3_600_000;
  afterAll(async () => {
    await dropTables(knex, "mygc_sessions");
    await knex.destroy();
  });
  beforeEach(async () => {
    await backend.init();
    await backend.clear();
  });

  async function run(limit: number): Promise<number[]> {
    const batches: number[] = [];
    for (;;) {
      const deleted = await backend.deleteExpired(now, limit);
      batches.push(deleted);
      if (deleted < limit) return batches;
    }
  }

  it("deletes every row of a shared expiry across batches, ids breaking the tie", async () => {
    for (let i = 0; i < 25; i++) await backend.upsert(record(`same-${String(i).padStart(2, "0")}`, now - 5000));
    for (let i = 0; i < 3; i++) await backend.upsert(record(`live-${i}`, live));
    expect(await run(10)).toEqual([10, 10, 5]);
    expect(await backend.count(0)).toBe(3);
  });

  it("a row expired behind the run's position is collected by the next run", async () => {
    for (let i = 0; i < 20; i++) await backend.upsert(record(`old-${i}`, now - 10_000 + i));
    expect(await backend.deleteExpired(now, 10)).toBe(10);
    // Expires earlier than anything the run has passed.
    await backend.upsert(record("late", now - 60_000));
    expect(await backend.deleteExpired(now, 10)).toBe(10);
    expect(await backend.deleteExpired(now, 10)).toBe(0);
    expect(await backend.get("late")).not.toBeNull();
    expect(await run(10)).toEqual([1]);
    expect(await backend.count(0)).toBe(0);
  });

  it("a row touched to stay alive between batches is kept", async () => {
    for (let i = 0; i < 20; i++) await backend.upsert(record(`t-${String(i).padStart(2, "0")}`, now - 1000));
    expect(await backend.deleteExpired(now, 10)).toBe(10);
    await backend.touch("t-15", live);
    expect(await run(10)).toEqual([9]);
    expect(await backend.get("t-15")).not.toBeNull();
  });
});
