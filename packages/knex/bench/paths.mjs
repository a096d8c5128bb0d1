// What each path of @sessionkit/knex costs, on the local databases:
//   node packages/knex/bench/paths.mjs [ops] [--gc] [--gc-only] [--only=pg,mysql,sqlite]
// (build first: npx tsc -b packages/knex). For each dialect, backend-level get/set/touch/destroy
// through knex.raw and through the user's own driver handle, against the raw driver running the
// very same statement (MySQL: mysql2's execute); with --gc, a backlog of 100,000 expired among
// 10,000 live sessions collected by the store's GC (adaptive batches) against one unbounded DELETE.
import { createStore } from "@sessionkit/core";
import BetterSqlite3 from "better-sqlite3";
import knexFactory from "knex";
import mysql from "mysql2";
import pg from "pg";
import { knexAdapter } from "../dist/index.js";
import { ownLayout } from "../dist/layout.js";

const OPS = Number(process.argv[2]) || 5000;
const GC = process.argv.includes("--gc");
const ONLY = process.argv.find((a) => a.startsWith("--only="))?.slice(7);
const want = (dialect) => !ONLY || ONLY.split(",").includes(dialect);
const HOT = !process.argv.includes("--gc-only");
const PG_URL = process.env.SESSIONKIT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const MYSQL_URL = process.env.SESSIONKIT_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const HOUR = 3_600_000;
const payload = JSON.stringify({
  cookie: { originalMaxAge: HOUR, expires: null, httpOnly: true, path: "/" },
  user: "u".repeat(200),
});
const ids = Array.from({ length: OPS }, (_, i) => `bench-${i}-${"x".repeat(20)}`);

/** ops/s of `op(i)` over every id, 8 in flight. */
async function rate(op) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < OPS) await op(next++);
    }),
  );
  return Math.round(OPS / ((performance.now() - started) / 1000));
}

/** get/set/touch/destroy through one backend. */
async function backendRates(backend) {
  await backend.init();
  await backend.clear();
  const now = Date.now();
  const out = {};
  out.set = await rate((i) => backend.upsert({ id: ids[i], payload, expiresAt: now + HOUR, owner: null, now }));
  out.get = await rate((i) => backend.get(ids[i], now));
  out.touch = await rate((i) => backend.touch({ id: ids[i], expiresAt: now + 2 * HOUR, now, owner: null }));
  out.destroy = await rate((i) => backend.destroy(ids[i], { now, until: now + HOUR }));
  await backend.clear();
  return out;
}

/** The same four statements on the raw driver, with the backend's own SQL and parameters. */
async function rawRates(flavor, run, table) {
  const { sql } = ownLayout(flavor, table, table);
  const now = Date.now();
  const cap = 8_640_000_000_000_000;
  await run(sql.clear, []);
  const head = (i) => [ids[i], payload, now + HOUR, null, now, now];
  const out = {};
  out.set = await rate((i) =>
    run(sql.upsert, flavor === "mysql" ? [...head(i), now, now, now, now, now, cap] : [...head(i), cap, now]),
  );
  out.get = await rate((i) => run(sql.get, [ids[i]]));
  out.touch = await rate((i) => run(sql.touch, [now, now + 2 * HOUR, now, cap, now, ids[i], now]));
  out.destroy = await rate((i) => run(sql.tombstone, [now + HOUR, now, now, ids[i]]));
  await run(sql.clear, []);
  return out;
}

/** Best of three interleaved rounds of each contender, then the table. */
async function report(dialect, contenders) {
  const rows = contenders.map(([label]) => [label, {}]);
  for (let round = 0; round < 3; round++) {
    for (const [k, [, measure]] of contenders.entries()) {
      const r = await measure();
      for (const op of Object.keys(r)) rows[k][1][op] = Math.max(rows[k][1][op] ?? 0, r[op]);
    }
  }
  const base = rows[0][1];
  console.log(`\n${dialect} (ops/s, × ${rows[0][0]})`);
  for (const [label, r] of rows) {
    const cells = ["set", "get", "touch", "destroy"].map((op) => `${op} ${r[op]} (${(r[op] / base[op]).toFixed(2)}×)`);
    console.log(`  ${label.padEnd(34)} ${cells.join("  ")}`);
  }
}

/** 100,000 expired among 10,000 live: the store's GC against one unbounded DELETE, rows/s. */
async function gc(label, backend, fill, unbounded) {
  const results = [];
  for (let round = 0; round < 2; round++) {
    await fill();
    let t = performance.now();
    const raw = await unbounded();
    const rawMs = performance.now() - t;
    await fill();
    const store = createStore(backend, { gcInterval: 0 });
    t = performance.now();
    const ours = await store.prune();
    const oursMs = performance.now() - t;
    await store.close();
    // The plan itself: batches of 10,000, back to back.
    await fill();
    const size = 10_000;
    let batched = 0;
    t = performance.now();
    for (let n = size; n === size; batched += n) n = await backend.deleteExpired(Date.now(), size);
    const batchedMs = performance.now() - t;
    results.push([raw / (rawMs / 1000), ours / (oursMs / 1000), batched / (batchedMs / 1000)]);
  }
  const best = (k) => Math.max(...results.map((r) => r[k]));
  const ratio = (k) => `${Math.round(best(k))} rows/s (${(best(k) / best(0)).toFixed(2)}×)`;
  console.log(
    `  GC ${label}: unbounded DELETE ${Math.round(best(0))} rows/s; batches of 10,000 ${ratio(2)}; store.prune() (adaptive) ${ratio(1)}`,
  );
}

function rows(now) {
  return Array.from({ length: 110_000 }, (_, i) => {
    const expired = i % 11 !== 0;
    return [
      `gc-${(i * 7919) % 1_000_003}-${i}`,
      payload,
      expired ? now - 1 - (i % 5000) * 1000 : now + HOUR,
      i % 3 ? `owner-${i % 5000}` : null,
      now - HOUR,
      now - HOUR,
    ];
  });
}

// PostgreSQL
if (want("pg")) {
  const knex = knexFactory({ client: "pg", connection: PG_URL, pool: { min: 0, max: 8 } });
  const pool = new pg.Pool({ connectionString: PG_URL, max: 8 });
  const unprepared = new pg.Pool({ connectionString: PG_URL, max: 8 });
  const runRaw = (sql, values) => {
    let n = 0;
    return pool.query(
      sql.replace(/\?/g, () => `$${++n}`),
      values,
    );
  };
  const t = "bench_paths_pg";
  await knexAdapter({ pg: pool }, { tableName: t }).init();
  if (HOT)
    await report("PostgreSQL", [
      ["raw pg (same SQL, unnamed)", () => rawRates("pg", runRaw, t)],
      ["{ pg: pool } prepared", () => backendRates(knexAdapter({ pg: pool }, { tableName: t }))],
      [
        "{ pg: pool } not prepared",
        () => backendRates(knexAdapter({ pg: unprepared }, { tableName: t, preparedStatements: false })),
      ],
      ["knex", () => backendRates(knexAdapter(knex, { tableName: t }))],
    ]);
  if (GC) {
    const fill = async () => {
      await pool.query(`truncate ${t}`);
      const all = rows(Date.now());
      for (let i = 0; i < all.length; i += 5000) {
        const chunk = all.slice(i, i + 5000);
        await pool.query(
          `insert into ${t} (sid, data, expires, owner, created, active) select * from unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[])`,
          [0, 1, 2, 3, 4, 5].map((k) => chunk.map((r) => r[k])),
        );
      }
      await pool.query(`vacuum analyze ${t}`);
    };
    await gc(
      "PostgreSQL",
      knexAdapter({ pg: pool }, { tableName: t }),
      fill,
      async () => (await pool.query(`delete from ${t} where expires <= $1`, [Date.now()])).rowCount,
    );
  }
  await pool.query(`drop table ${t}`);
  await Promise.all([knex.destroy(), pool.end(), unprepared.end()]);
}

// MariaDB
if (want("mysql")) {
  const knex = knexFactory({ client: "mysql2", connection: MYSQL_URL, pool: { min: 0, max: 8 } });
  const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 8 });
  const p = pool.promise();
  const t = "bench_paths_my";
  await knexAdapter({ mysql2: pool }, { tableName: t }).init();
  if (HOT)
    await report("MariaDB", [
      ["raw mysql2 execute (same SQL)", () => rawRates("mysql", (sql, values) => p.execute(sql, values), t)],
      ["{ mysql2: pool } (execute)", () => backendRates(knexAdapter({ mysql2: pool }, { tableName: t }))],
      ["knex (query)", () => backendRates(knexAdapter(knex, { tableName: t }))],
    ]);
  if (GC) {
    const fill = async () => {
      await p.query(`truncate ${t}`);
      const all = rows(Date.now());
      for (let i = 0; i < all.length; i += 5000) {
        await p.query(`insert into ${t} (sid, data, expires, owner, created, active) values ?`, [
          all.slice(i, i + 5000),
        ]);
      }
      await p.query(`analyze table ${t}`);
      // Let InnoDB purge the fill before measuring.
      for (let k = 0; k < 200; k++) {
        const [r] = await p.query(
          "select count from information_schema.innodb_metrics where name = 'trx_rseg_history_len'",
        );
        if (Number(r[0].count) < 50) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    await gc(
      "MariaDB",
      knexAdapter({ mysql2: pool }, { tableName: t }),
      fill,
      async () => (await p.execute(`delete from ${t} where expires <= ?`, [Date.now()]))[0].affectedRows,
    );
  }
  await p.query(`drop table ${t}`);
  await knex.destroy();
  await p.end();
}

// SQLite (a file, WAL)
if (want("sqlite")) {
  const file = `/tmp/sessionkit-bench-paths-${process.pid}.db`;
  const db = new BetterSqlite3(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  const knex = knexFactory({ client: "better-sqlite3", connection: { filename: file }, useNullAsDefault: true });
  const t = "bench_paths";
  await knexAdapter({ betterSqlite3: db }, { tableName: t }).init();
  const statements = new Map();
  const runRaw = async (sql, values) => {
    let s = statements.get(sql);
    if (!s) {
      s = db.prepare(sql);
      statements.set(sql, s);
    }
    return s.reader ? s.all(...values) : s.run(...values);
  };
  if (HOT)
    await report("SQLite", [
      ["raw better-sqlite3 (same SQL)", () => rawRates("sqlite", runRaw, t)],
      ["{ betterSqlite3: db }", () => backendRates(knexAdapter({ betterSqlite3: db }, { tableName: t }))],
      ["knex", () => backendRates(knexAdapter(knex, { tableName: t }))],
    ]);
  if (GC) {
    const insert = db.prepare(
      `insert into ${t} (sid, data, expires, owner, created, active) values (?, ?, ?, ?, ?, ?)`,
    );
    const fill = async () => {
      db.prepare(`delete from ${t}`).run();
      db.transaction((all) => {
        for (const r of all) insert.run(...r);
      })(rows(Date.now()));
    };
    await gc(
      "SQLite",
      knexAdapter({ betterSqlite3: db }, { tableName: t }),
      fill,
      async () => db.prepare(`delete from ${t} where expires <= ?`).run(Date.now()).changes,
    );
  }
  await knex.destroy();
  db.close();
  const { rmSync } = await import("node:fs");
  for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
}
