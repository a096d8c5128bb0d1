// Garbage collection of @sessionkit/knex against one unbounded DELETE, on the local databases:
//   node packages/knex/bench/gc.mjs [--only=pg,mysql,sqlite] [--rounds=5] [--cases=backlog,routine] [--batch-time=MS] [--server-cpu]
// (build first: npx tsc -b packages/core packages/knex). Per dialect (PostgreSQL through a pg
// pool, MariaDB through a mysql2 pool, SQLite through better-sqlite3, a WAL file) and per case
// (backlog: 100,000 expired among 10,000 live; routine: 1,000 expired among 100,000 live), each
// round fills the table afresh and measures, in turn:
//   - idle: 16-in-flight live get/set/touch for a second, no deletion running (p99 latency);
//   - raw: one `DELETE FROM t WHERE expires <= now`, which is also what connect-session-knex,
//     connect-pg-simple and express-mysql-session run for their cleanup (rows/s, and the p99 of
//     the live load running beside it);
//   - prune: a fresh store's `prune()` (adaptive batches of the core's GC loop) on the same fill
//     (rows/s, and the p99 of the live load beside it).
// Rounds interleave the contenders; the report gives medians over rounds and the ratios
// prune/raw (rows/s) and p99 during/idle. Absolute numbers mean little on a shared machine.
// --server-cpu (MariaDB on this machine): also the CPU time mysqld spends on each cleanup, from
// its start until the server is idle again. That includes InnoDB's purge of the deleted rows,
// which a single DELETE leaves until after it commits (outside its wall time) while bounded
// batches commit as they go, so their purge runs beside the next batches. It counts the
// server's own threads only, so other work on the machine barely moves it.
import { readFileSync } from "node:fs";
import { createStore } from "@sessionkit/core";
import BetterSqlite3 from "better-sqlite3";
import mysql from "mysql2";
import pg from "pg";
import { knexAdapter } from "../dist/index.js";

const BEFORE = process.argv.find((a) => a.startsWith("--before="))?.slice(9);
const before = BEFORE
  ? (await import(new URL(`${BEFORE}/index.js`, `file://${process.cwd()}/`).href)).knexAdapter
  : undefined;
/** This build's backend, and the other build's (`--before`) on the same handle. */
const builds = (handle, options) => [
  ["prune", knexAdapter(handle, options)],
  ...(before ? [["prune before", before(handle, options)]] : []),
];

const arg = (name, fallback) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const ONLY = arg("only", "pg,mysql,sqlite").split(",");
const ROUNDS = Number(arg("rounds", "5"));
const CASES = arg("cases", "backlog,routine").split(",");
const SIZES = { backlog: { expired: 100_000, live: 10_000 }, routine: { expired: 1_000, live: 100_000 } };
const IN_FLIGHT = 16;
/** The store's gcBatchTime (ms), to see what a batch's time budget trades; default: what the backend declares. */
const BATCH_TIME = arg("batch-time", undefined);
const IDLE_MS = 1000;
const SERVER_CPU = process.argv.includes("--server-cpu");
/** CPU time (ms) the process `pid` has used, from /proc (Linux; 100 ticks a second). */
const cpuMs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
/** Waits (at most 60 s) until `pid` has used at most 10 ms of CPU in each of three 100 ms windows; its CPU time then. */
async function idleCpu(pid) {
  let [quiet, last] = [0, cpuMs(pid)];
  for (const deadline = Date.now() + 60_000; quiet < 3; ) {
    if (Date.now() > deadline) throw new Error(`--server-cpu: process ${pid} did not go idle within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = cpuMs(pid);
    quiet = now - last <= 10 ? quiet + 1 : 0;
    last = now;
  }
  return last;
}
const LOADED = !process.argv.includes("--no-load");
const PG_URL = process.env.SESSIONKIT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const MYSQL_URL = process.env.SESSIONKIT_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const HOUR = 3_600_000;
const COLUMNS = "sid, data, expires, owner, created, active";
const payload = JSON.stringify({
  cookie: { originalMaxAge: HOUR, expires: null, httpOnly: true, path: "/" },
  user: "u".repeat(200),
});

/** The table's rows: expired ones (one in ten a tombstone past its `until`) spread over the last 5,000 s, then live ones. */
function rows({ expired, live }, now) {
  const out = [];
  for (let i = 0; i < expired; i++) {
    const tomb = i % 10 === 0;
    out.push([
      `x-${(i * 7919) % 1_000_003}-${i}`,
      tomb ? null : payload,
      now - 1 - (i % 5000) * 1000,
      tomb ? null : `o-${i % 5000}`,
      now - HOUR,
      now - HOUR,
    ]);
  }
  for (let i = 0; i < live; i++) out.push([liveId(i), payload, now + HOUR, `o-${i % 5000}`, now - HOUR, now - HOUR]);
  // Interleaved, as writes arrive: expired and live rows share the pages.
  for (let i = out.length - 1; i > 0; i--) {
    const j = (i * 2654435761) % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
const liveId = (i) => `live-${i}-${"y".repeat(20)}`;

/** 16 in flight of get/set/touch on live sessions until `until()` says stop; each op's latency in ms. */
async function load(backend, live, until) {
  const latencies = [];
  let i = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      // Each request's latency counts from its arrival: right after the last one answered, then
      // a turn of the event loop, as requests arriving on sockets get (with better-sqlite3 every
      // call completes at once: without it the load would never let the GC's batches in). A
      // request that arrives while a deletion holds the event loop waits for it.
      let t = performance.now();
      while (!until()) {
        await new Promise((resolve) => setImmediate(resolve));
        const k = i++;
        const id = liveId((k * 7919) % live);
        const now = Date.now();
        try {
          if (k % 3 === 0) await backend.get(id);
          else if (k % 3 === 1)
            await backend.upsert({ id, payload, expiresAt: now + HOUR, owner: "o-1", now, maxLifetimeMs: undefined });
          else await backend.touch({ id, expiresAt: now + HOUR, now });
        } catch (error) {
          // A live request failing beside a deletion (a deadlock, a lock wait timeout): counted.
          failures.set(error.code, (failures.get(error.code) ?? 0) + 1);
        }
        const done = performance.now();
        latencies.push(done - t);
        t = done;
      }
    }),
  );
  return latencies;
}

/** Live requests that failed, by error code, since the last report. */
const failures = new Map();

const p99 = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] ?? 0;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Runs `work` with the live load beside it; its result, ms, and the load's p99. */
async function beside(backend, live, work) {
  let done = false;
  const loading = load(backend, live, () => done);
  const t = performance.now();
  const result = await work();
  const ms = performance.now() - t;
  done = true;
  return { result, ms, p99: p99(await loading) };
}

/** The contenders: one unbounded DELETE, the store's prune(), and that of another build (`--before=DIR`). */
function contenders(backends, raw) {
  const prune = (backend) => async () => {
    const store = createStore(backend, {
      gcInterval: 0,
      operationTimeout: 600_000,
      ...(BATCH_TIME ? { gcBatchTime: Number(BATCH_TIME) } : {}),
    });
    await store.get("warm-up"); // init() outside the measure
    return { run: () => store.prune(), after: () => store.close() };
  };
  return [
    ["raw", async () => ({ run: raw, after: async () => {} })],
    ...backends.map(([label, b]) => [label, prune(b)]),
  ];
}

async function measure(dialect, c, { backends, fill, raw, serverPid }) {
  const size = SIZES[c];
  const backend = backends[0][1];
  const all = contenders(backends, raw);
  const labels = all.map(([label]) => label);
  const check = (which, n) => {
    if (n !== size.expired) throw new Error(`${which} deleted ${n}, expected ${size.expired}`);
  };
  const r = Object.fromEntries(
    labels.map((l) => [l, { rate: [], ms: [], ratio: [], cpu: [], idle: [], p99: [], p99x: [], failed: new Map() }]),
  );
  // Warm the pool and each connection's prepared statements.
  await fill({ expired: 0, live: 1000 });
  await load(
    backend,
    1000,
    (
      (n) => () =>
        n++ > 2000
    )(0),
  );
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order, so no contender always meets the same state of the machine.
    const order = all.map((_, k) => all[(k + round) % all.length]);
    // Alone: rows/s.
    for (const [label, make] of order) {
      await fill(size);
      const { run, after } = await make();
      const cpu = serverPid ? await idleCpu(serverPid) : 0;
      const t = performance.now();
      const n = await run();
      const ms = performance.now() - t;
      if (serverPid) r[label].cpu.push((await idleCpu(serverPid)) - cpu);
      await after();
      check(label, n);
      r[label].rate.push(n / (ms / 1000));
      r[label].ms.push(ms);
    }
    for (const l of labels) r[l].ratio.push(r[l].rate.at(-1) / r.raw.rate.at(-1));
    // Beside the live load: its p99, against the same load just before with nothing deleting.
    for (const [label, make] of LOADED ? order : []) {
      await fill(size);
      const { run, after } = await make();
      let started = Date.now();
      await load(backend, size.live, () => Date.now() - started > IDLE_MS / 4); // settle
      started = Date.now();
      const idle = p99(await load(backend, size.live, () => Date.now() - started > IDLE_MS));
      failures.clear();
      const got = await beside(backend, size.live, run);
      await after();
      check(label, got.result);
      r[label].idle.push(idle);
      r[label].p99.push(got.p99);
      r[label].p99x.push(got.p99 / idle);
      for (const [code, n] of failures) r[label].failed.set(code, (r[label].failed.get(code) ?? 0) + n);
      failures.clear();
    }
  }
  const f = (x) => x.toFixed(2);
  console.log(`${dialect} ${c}: ${size.expired} expired among ${size.live} live, ${ROUNDS} rounds, medians`);
  for (const l of labels) {
    const m = (k) => median(r[l][k]);
    console.log(
      `  ${l.padEnd(14)} ${String(Math.round(m("rate"))).padStart(8)} rows/s ${m("ms").toFixed(0).padStart(6)} ms  ${f(m("ratio"))}x raw [${r[l].ratio.map(f).join(" ")}]` +
        (serverPid ? `  server CPU ${m("cpu")} ms, raw's ÷ this ${f(median(r.raw.cpu) / m("cpu"))}` : "") +
        (LOADED
          ? `  live p99 ${f(m("p99"))} ms, ${f(m("p99x"))}x idle (idle ${f(m("idle"))} ms) [${r[l].p99x.map(f).join(" ")}]`
          : "") +
        (r[l].failed.size
          ? `  live requests failed: ${[...r[l].failed].map(([code, n]) => `${n} ${code}`).join(", ")}`
          : ""),
    );
  }
}

// PostgreSQL
if (ONLY.includes("pg")) {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 20, idleTimeoutMillis: 0 });
  const t = `bench_gc_pg_${process.pid}`;
  const backends = builds({ pg: pool }, { tableName: t });
  await backends[0][1].init();
  const fill = async (size) => {
    await pool.query(`truncate ${t}`);
    const all = rows(size, Date.now());
    for (let i = 0; i < all.length; i += 5000) {
      const chunk = all.slice(i, i + 5000);
      await pool.query(
        `insert into ${t} (${COLUMNS}) select * from unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[])`,
        [0, 1, 2, 3, 4, 5].map((k) => chunk.map((row) => row[k])),
      );
    }
    await pool.query(`vacuum analyze ${t}`);
    await pool.query("checkpoint");
  };
  const raw = async () => (await pool.query(`delete from ${t} where expires <= $1`, [Date.now()])).rowCount;
  for (const c of CASES) await measure("PostgreSQL", c, { backends, fill, raw });
  await pool.query(`drop table ${t}`);
  await pool.end();
}

// MariaDB
if (ONLY.includes("mysql")) {
  const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 20 });
  const p = pool.promise();
  const t = `bench_gc_my_${process.pid}`;
  const backends = builds({ mysql2: pool }, { tableName: t });
  await backends[0][1].init();
  const fill = async (size) => {
    await p.query(`truncate ${t}`);
    const all = rows(size, Date.now());
    for (let i = 0; i < all.length; i += 5000)
      await p.query(`insert into ${t} (${COLUMNS}) values ?`, [all.slice(i, i + 5000)]);
    await p.query(`analyze table ${t}`);
    // Let InnoDB purge the fill before measuring.
    for (let k = 0; k < 300; k++) {
      const [r] = await p.query(
        "select count from information_schema.innodb_metrics where name = 'trx_rseg_history_len'",
      );
      if (Number(r[0].count) < 50) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const raw = async () => (await p.execute(`delete from ${t} where expires <= ?`, [Date.now()]))[0].affectedRows;
  const [[{ file }]] = await p.query("select @@pid_file as file");
  const serverPid = SERVER_CPU ? Number(readFileSync(file, "utf8").trim()) : undefined;
  for (const c of CASES) await measure("MariaDB", c, { backends, fill, raw, serverPid });
  await p.query(`drop table ${t}`);
  await p.end();
}

// SQLite (a file, WAL)
if (ONLY.includes("sqlite")) {
  const file = `/tmp/sessionkit-bench-gc-${process.pid}.db`;
  const db = new BetterSqlite3(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  const t = "bench_gc";
  const backends = builds({ betterSqlite3: db }, { tableName: t });
  await backends[0][1].init();
  const insert = db.prepare(`insert into ${t} (${COLUMNS}) values (?, ?, ?, ?, ?, ?)`);
  const fill = async (size) => {
    db.prepare(`delete from ${t}`).run();
    db.transaction((all) => {
      for (const row of all) insert.run(...row);
    })(rows(size, Date.now()));
    db.pragma("wal_checkpoint(TRUNCATE)");
  };
  const raw = async () => db.prepare(`delete from ${t} where expires <= ?`).run(Date.now()).changes;
  for (const c of CASES) await measure("SQLite", c, { backends, fill, raw });
  db.close();
  const { rmSync } = await import("node:fs");
  for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
}
