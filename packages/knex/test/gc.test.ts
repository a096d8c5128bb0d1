import { write } from "@sessionkit/conformance";
import { afterAll, describe, expect, it } from "vitest";
import { knexAdapter, type Mysql2Pool } from "../src/index.js";
import { mysqlGate, mysqlPool, pgGate, pgPool } from "./support/databases.js";

// GC batches beside other transactions: a batch never waits on another instance's batch, nor (on
// MySQL) on a live row someone holds. Lock waits fail fast here (PostgreSQL lock_timeout, InnoDB
// innodb_lock_wait_timeout), so a batch that would queue fails the test instead of hanging it.
const T0 = Date.now();
const HOUR = 3_600_000;
const [skipPg, skipMysql] = [await pgGate(), await mysqlGate()];

describe.skipIf(skipPg)("PostgreSQL GC", () => {
  const pool = pgPool({ lock_timeout: 2000 });
  afterAll(async () => {
    await pool.query("drop table if exists gc_pg_locked");
    await pool.end();
  });

  it("a batch finds another instance's batch running and deletes nothing, without waiting for it", async () => {
    const backend = knexAdapter({ pg: pool }, { tableName: "gc_pg_locked" });
    await backend.init();
    await backend.clear();
    for (let i = 0; i < 20; i++) await backend.upsert(write(`old-${i}`, T0 + 10, { now: T0 }));
    await backend.upsert(write("live", T0 + HOUR, { now: T0 }));
    const other = await pool.connect();
    try {
      // What another instance's batch holds while it runs.
      await other.query("begin");
      await other.query(`select pg_advisory_xact_lock(hashtext('sessionkit:gc:"gc_pg_locked"'))`);
      // A row lock too: were the batch to wait on anything, lock_timeout would fail it.
      await other.query("select sid from gc_pg_locked where sid = 'old-3' for update");
      expect(await backend.deleteExpired(T0 + 10, 100)).toBe(0);
    } finally {
      await other.query("rollback");
      other.release();
    }
    expect(await backend.deleteExpired(T0 + 10, 8)).toBe(8);
    expect(await backend.deleteExpired(T0 + 10, 100)).toBe(12);
    expect(await backend.count(T0 + 10)).toBe(1);
  });
});

describe.skipIf(skipMysql)("MySQL/MariaDB GC", () => {
  const pool = mysqlPool({ connectionLimit: 1 }); // one connection: the session setting below stays
  const other = mysqlPool({ connectionLimit: 1 });
  /** The pool, recording the statements the backend runs on it. */
  const statements: string[] = [];
  const recording: Mysql2Pool = {
    execute: (sql, values, callback) => {
      statements.push(sql);
      return pool.execute(sql, values, callback);
    },
  };
  /** The GC statements run: the single-table DELETE along the index, or the one by key. */
  const deletes = () =>
    statements
      .filter((sql) => sql.startsWith("delete"))
      .map((sql) => (sql.startsWith("delete x ") ? "by key" : "along"));
  afterAll(async () => {
    await pool.promise().query("drop table if exists gc_my_locked");
    await pool.promise().end();
    await other.promise().end();
  });

  type Row = [sid: string, data: string, expires: number, owner: null, created: number, active: number];
  /** A fresh table of `rows`, analyzed, and a backend over it whose lock waits fail after 2 s. */
  async function tableOf(rows: Row[]) {
    await pool.promise().query("set session innodb_lock_wait_timeout = 2");
    const backend = knexAdapter({ mysql2: recording }, { tableName: "gc_my_locked" });
    await backend.init();
    await backend.clear();
    await pool
      .promise()
      .query("insert into gc_my_locked (sid, data, expires, owner, created, active) values ?", [rows]);
    await pool.promise().query("analyze table gc_my_locked");
    return backend;
  }
  /** `work` while another transaction holds the row `sid` (FOR UPDATE); the statements it ran. */
  async function whileHeld(sid: string, work: () => Promise<void>) {
    const holder = await other.promise().getConnection();
    try {
      await holder.query("begin");
      await holder.query("select sid from gc_my_locked where sid = ? for update", [sid]);
      statements.length = 0;
      await work();
      return deletes();
    } finally {
      await holder.query("rollback");
      holder.release();
    }
  }
  const old = (i: number): Row => [`old-${i}`, "{}", T0 + 10 + i, null, T0, T0];
  const live = (i: number): Row => [`live-${i}`, "{}", T0 + HOUR + i, null, T0, T0];

  it("a batch takes expired rows along the expiry index, never waiting on a live row another transaction holds", async () => {
    // A table of some size (on a few rows the optimizer rightly prefers a scan).
    const backend = await tableOf(Array.from({ length: 3000 }, (_, i) => (i < 200 ? old(i) : live(i))));
    const ran = await whileHeld("live-300", async () => {
      expect(await backend.deleteExpired(T0 + 1000, 50)).toBe(50);
      expect(await backend.deleteExpired(T0 + 1000, 100)).toBe(100);
      expect(await backend.deleteExpired(T0 + 1000, 100)).toBe(50);
    });
    // Planned along the index: the single-table DELETE, which deletes as it walks.
    expect(ran).toEqual(["along", "along", "along"]);
    expect(await backend.count(T0 + 1000)).toBe(2800);
  });

  it("a batch larger than the backlog, on a table mostly expired, still passes live rows by", async () => {
    // Where a batch would take about every expired row, `order by expires limit n` is planned as
    // a scan of the whole table, which locks the live rows it passes (the last batch of a
    // backlog, or a batch size learned on a larger one).
    const backend = await tableOf(Array.from({ length: 3000 }, (_, i) => (i % 5 === 0 ? live(i) : old(i))));
    const ran = await whileHeld("live-1500", async () => {
      expect(await backend.deleteExpired(T0 + 5000, 100_000)).toBe(2400);
    });
    // That DELETE would be planned as a scan: the ids come from the index, the rows by key.
    expect(ran).toEqual(["by key"]);
    expect(await backend.count(T0 + 5000)).toBe(600);
  });
});
