import { record } from "@sessionkit/conformance";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { knexAdapter } from "../src/index.js";
import { MysqlExpiredCollector } from "../src/mysql-expired.js";
import { resolveOptions } from "../src/options.js";
import { createRunner, type SqlRunner } from "../src/runners.js";
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
    // Touched while still live (a request just before it expired): the new expiry keeps it.
    await backend.touch("t-15", live, now - 2000);
    expect(await run(10)).toEqual([9]);
    expect(await backend.get("t-15")).not.toBeNull();
  });

  it("never deletes more than the limit, whatever the batch size", async () => {
    for (let i = 0; i < 20; i++) await backend.upsert(record(`b-${String(i).padStart(2, "0")}`, now - 1000 - i));
    expect(await run(7)).toEqual([7, 7, 6]);
    for (let i = 0; i < 3; i++) await backend.upsert(record(`c-${i}`, now - 1000));
    expect(await run(1)).toEqual([1, 1, 1, 0]);
    expect(await backend.count(0)).toBe(0);
  });

  /**
   * A collector on the test table whose runner calls `between` once, right after the query
   * that finds a batch's boundary and before the DELETE: what another request could do there.
   */
  function collectorWithHook(between: () => Promise<void>) {
    const real = createRunner(knex, "mysql2", { preparedStatements: false });
    let armed = true;
    const runner: SqlRunner = {
      rows: async (sql, params) => {
        const rows = await real.rows(sql, params);
        if (armed && sql.startsWith("select")) {
          armed = false;
          await between();
        }
        return rows;
      },
      run: real.run,
    };
    return new MysqlExpiredCollector(runner, resolveOptions({ tableName: "mygc_sessions" }));
  }

  // limit 10: the batch has a boundary row; limit 20: it has none and runs to the last expired row.
  it.each([10, 20])(
    "keeps a row touched to stay alive between the boundary query and the DELETE (limit %i)",
    async (limit) => {
      for (let i = 0; i < 10; i++) await backend.upsert(record(`h-${i}`, now - 1000));
      const collector = collectorWithHook(() => backend.touch("h-4", live, now - 2000));
      expect(await collector.deleteExpired(now, limit)).toBe(9);
      expect(await backend.get("h-4")).toMatchObject({ expiresAt: live });
      expect(await backend.count(0)).toBe(1);
    },
  );

  it("a row that expires into the batch's range meanwhile never makes the batch larger than the limit", async () => {
    for (let i = 0; i < 10; i++) await backend.upsert(record(`r-${i}`, now - 1000));
    // "r-10" sorts between "r-1" and "r-2", inside the range the boundary query chose.
    const collector = collectorWithHook(() => backend.upsert(record("r-10", now - 1000)));
    expect(await collector.deleteExpired(now, 10)).toBe(10);
    // LIMIT stopped the batch one row short of its boundary ("r-9"); the run moves on past it
    // (its next call finds nothing after the boundary and ends), and the next run takes it.
    expect(await backend.count(0)).toBe(1);
    expect(await collector.deleteExpired(now, 10)).toBe(0);
    expect(await collector.deleteExpired(now, 10)).toBe(1);
    expect(await backend.count(0)).toBe(0);
  });

  it("a row deleted by someone else between the boundary query and the DELETE ends the run short, losing nothing", async () => {
    for (let i = 0; i < 15; i++) await backend.upsert(record(`d-${String(i).padStart(2, "0")}`, now - 1000));
    const collector = collectorWithHook(async () => {
      await backend.destroy("d-03");
    });
    expect(await collector.deleteExpired(now, 10)).toBe(9);
    // The short batch restarted the run: the next call starts from the first expired row.
    expect(await collector.deleteExpired(now, 10)).toBe(5);
    expect(await backend.count(0)).toBe(0);
  });

  it("several instances pruning at once while sessions are touched never delete a live row", async () => {
    const others = [mysqlKnex(), mysqlKnex()];
    try {
      const pruners = others.map((k) => knexAdapter(k, { tableName: "mygc_sessions" }));
      const expiredIds = Array.from({ length: 600 }, (_, i) => `x-${i}`);
      const liveIds = Array.from({ length: 100 }, (_, i) => `y-${i}`);
      await knex("mygc_sessions").insert([
        ...expiredIds.map((sid, i) => ({ sid, data: "{}", expires: now - 1000 - (i % 7), owner: null })),
        ...liveIds.map((sid, i) => ({ sid, data: "{}", expires: now - 1000 - (i % 7), owner: null })),
      ]);
      // The "live" sessions are expired until a request saves them again, racing the pruners.
      // An upsert either comes after a pruner deleted the row (and writes it anew) or before
      // (and the pruner's re-check of the expiry must keep it): every one must be there at the end.
      const saves = liveIds.map((sid) => backend.upsert(record(sid, live)));
      const runs = pruners.map(async (pruner) => {
        const sizes: number[] = [];
        for (;;) {
          const deleted = await pruner.deleteExpired(now, 25);
          sizes.push(deleted);
          if (deleted < 25) return sizes;
        }
      });
      const [, ...results] = await Promise.all([Promise.all(saves), ...runs]);
      for (const sizes of results) for (const n of sizes) expect(n).toBeLessThanOrEqual(25);
      // Finish the runs (a short batch ended one early when the other pruner took its rows).
      for (const pruner of pruners) while ((await pruner.deleteExpired(now, 25)) === 25);
      expect(await backend.deleteExpired(now, 1000)).toBe(0);
      const left = (await knex("mygc_sessions").select("sid")).map((r) => String(r.sid)).sort();
      expect(left).toEqual([...liveIds].sort());
    } finally {
      for (const k of others) await k.destroy();
    }
  });
});
