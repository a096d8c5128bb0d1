// What each path of @sessionkit/knex costs, on the local databases:
//   node packages/knex/bench/paths.mjs [ops] [--only=pg,mysql,sqlite]
// (build first: npx tsc -b packages/knex). For each dialect, backend-level get/set/touch/destroy
// through knex.raw and through the user's own driver handle, against the raw driver running the
// very same statement (MySQL: mysql2's execute). GC is measured by gc.mjs.
import BetterSqlite3 from "better-sqlite3";
import knexFactory from "knex";
import mysql from "mysql2";
import pg from "pg";
import { knexAdapter } from "../dist/index.js";
import { ownLayout } from "../dist/layout.js";

const OPS = Number(process.argv[2]) || 5000;
const ONLY = process.argv.find((a) => a.startsWith("--only="))?.slice(7);
const want = (dialect) => !ONLY || ONLY.split(",").includes(dialect);
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
  await report("PostgreSQL", [
    ["raw pg (same SQL, unnamed)", () => rawRates("pg", runRaw, t)],
    ["{ pg: pool } prepared", () => backendRates(knexAdapter({ pg: pool }, { tableName: t }))],
    [
      "{ pg: pool } not prepared",
      () => backendRates(knexAdapter({ pg: unprepared }, { tableName: t, preparedStatements: false })),
    ],
    ["knex", () => backendRates(knexAdapter(knex, { tableName: t }))],
  ]);
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
  await report("MariaDB", [
    ["raw mysql2 execute (same SQL)", () => rawRates("mysql", (sql, values) => p.execute(sql, values), t)],
    ["{ mysql2: pool } (execute)", () => backendRates(knexAdapter({ mysql2: pool }, { tableName: t }))],
    ["knex (query)", () => backendRates(knexAdapter(knex, { tableName: t }))],
  ]);
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
  await report("SQLite", [
    ["raw better-sqlite3 (same SQL)", () => rawRates("sqlite", runRaw, t)],
    ["{ betterSqlite3: db }", () => backendRates(knexAdapter({ betterSqlite3: db }, { tableName: t }))],
    ["knex", () => backendRates(knexAdapter(knex, { tableName: t }))],
  ]);
  await knex.destroy();
  db.close();
  const { rmSync } = await import("node:fs");
  for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
}
