// The store's hot path on MariaDB over a `{ mysql2: pool }` handle, against raw mysql2 `execute`
// doing the benchmark's minimal work (packages/bench/src/knex.ts), and variants of that raw
// work that add one of sessionkit's semantics at a time, to see what each costs:
//   node --expose-gc packages/knex/bench/mysql-ops.mjs [--ops=2000] [--rounds=5] [--before=DIR]
// (build first: npx tsc -b packages/core packages/knex packages/bench). As in `pnpm bench`: pools of 16, 8 in
// flight, innodb_flush_log_at_trx_commit = 2 during the run (put back after). Unlike `pnpm
// bench` (whose touches move the expiry), one session object serves a whole run, so the plain
// raw touch rewrites the expiry it already holds: the "touch moves expiry" variant shows the gap. Contenders run
// in an order that rotates each round; medians, and ratios to the first (raw). `control` is the
// raw code again on its own table: its ratio is the noise.

import { readdirSync, readFileSync } from "node:fs";
import { createStore } from "@sessionkit/core";
import { fromCallback as cb } from "@sessionkit/core/kit";
import mysql from "mysql2";
import { benchSession, HOUR } from "../../bench/dist/harness.js";
import { knexAdapter } from "../dist/index.js";

const arg = (name, fallback) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const OPS = Number(arg("ops", "2000"));
const ROUNDS = Number(arg("rounds", "5"));
const BEFORE = arg("before", undefined);
const MYSQL_URL = process.env.SESSIONKIT_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const OP_NAMES = ["set", "get", "touch", "destroy"];
// The session `pnpm bench` stores (its harness, built with the workspace).
const session = benchSession();

const pools = [];
const pool = () => {
  const p = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 16 });
  pools.push(p);
  return p;
};

/** Raw mysql2 on table `t` (created by init(): sessionkit's own layout), with `override`n statements. */
async function raw(name, t, override = {}) {
  await knexAdapter({ mysql2: pool() }, { tableName: t }).init();
  const p = pool().promise();
  const run = async (sql, values) => (await p.execute(sql, values))[0];
  const ops = {
    get: async (id) => {
      const [row] = await run(`select data, expires from ${t} where sid = ?`, [id]);
      return row && Number(row.expires) > Date.now() ? JSON.parse(row.data) : null;
    },
    set: (id, s) =>
      run(
        `insert into ${t} (sid, data, expires) values (?, ?, ?) on duplicate key update data = values(data), expires = values(expires)`,
        [id, JSON.stringify(s), s.cookie.expires.getTime()],
      ),
    touch: (id, s) => run(`update ${t} set expires = ? where sid = ?`, [s.cookie.expires.getTime(), id]),
    destroy: (id) => run(`delete from ${t} where sid = ?`, [id]),
  };
  for (const [op, make] of Object.entries(override)) ops[op] = make(run);
  return { name, t, ops };
}

async function sessionkit(name, t, adapter) {
  const store = createStore(adapter({ mysql2: pool() }, { tableName: t }), { gcInterval: 0 });
  await store.length();
  return {
    name,
    t,
    ops: {
      set: (id, s) => cb((done) => store.set(id, s, done)),
      get: (id) => cb((done) => store.get(id, done)),
      touch: (id, s) => cb((done) => store.touch(id, s, done)),
      destroy: (id) => cb((done) => store.destroy(id, done)),
    },
    close: () => store.close(),
  };
}

/** The server's CPU time so far, ns: the sum over its threads (/proc/PID/task/TID/schedstat). */
const SERVER = readdirSync("/proc").find(
  (d) => /^\d+$/.test(d) && readFileSync(`/proc/${d}/comm`, "utf8").trim() === "mariadbd",
);
const serverNs = () => {
  if (!SERVER) return 0;
  let ns = 0;
  for (const tid of readdirSync(`/proc/${SERVER}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${SERVER}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {}
  }
  return ns;
};

/** ops/s of `op(0..ops-1)`, 8 in flight, and the CPU µs per op of this process and of the server. */
async function timed(op, ops) {
  globalThis.gc?.();
  let next = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const s0 = serverNs();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < ops) await op(next++);
    }),
  );
  const c = process.cpuUsage(c0);
  return {
    rate: (ops / (performance.now() - t0)) * 1000,
    node: (c.user + c.system) / ops,
    server: (serverNs() - s0) / 1000 / ops,
  };
}

const admin = pool().promise();
const [[flush]] = await admin.query("select @@global.innodb_flush_log_at_trx_commit as v");
await admin.query("set global innodb_flush_log_at_trx_commit = 2");
const P = `skops_${process.pid}`;
const contenders = [
  await raw("raw mysql2 execute", `${P}_raw`),
  await raw("control: raw again", `${P}_ctl`),
  await raw("raw, touch moves expiry", `${P}_rtm`, {
    touch: (run) => (id) => run(`update ${P}_rtm set expires = ? where sid = ?`, [Date.now() + HOUR, id]),
  }),
  await raw("raw, touch also sets active", `${P}_rta`, {
    touch: (run) => (id, s) =>
      run(`update ${P}_rta set expires = ?, active = ? where sid = ?`, [s.cookie.expires.getTime(), Date.now(), id]),
  }),
  await raw("raw, destroy = tombstone", `${P}_rtb`, {
    destroy: (run) => (id) =>
      run(`update ${P}_rtb set data = null, expires = ?, owner = null, created = ?, active = ? where sid = ?`, [
        Date.now() + HOUR,
        Date.now(),
        Date.now(),
        id,
      ]),
  }),
  await sessionkit("sessionkit { mysql2 }", `${P}_sk`, knexAdapter),
];
if (BEFORE) {
  const before = (await import(new URL(`${BEFORE}/index.js`, `file://${process.cwd()}/`).href)).knexAdapter;
  contenders.push(await sessionkit("sessionkit before", `${P}_skb`, before));
}

const runs = new Map();
try {
  for (let round = 0; round <= ROUNDS; round++) {
    for (const op of OP_NAMES) {
      for (let k = 0; k < contenders.length; k++) {
        const c = contenders[(k + round) % contenders.length];
        const ops = round === 0 ? OPS / 4 : OPS;
        const r = await timed((i) => c.ops[op](`r${round}-${i}`, session), ops);
        if (round > 0) runs.set(`${c.name}/${op}`, [...(runs.get(`${c.name}/${op}`) ?? []), r]);
      }
    }
  }
} finally {
  await admin.query(`set global innodb_flush_log_at_trx_commit = ${Number(flush.v)}`);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const m = (c, op, k) => median(runs.get(`${c.name}/${op}`).map((r) => r[k]));
console.log(
  `MariaDB, ${OPS} ops per run, 8 in flight, median of ${ROUNDS} rounds: ops/s (× raw); CPU µs per op, node + server`,
);
for (const c of contenders) {
  const cells = OP_NAMES.map((op) => {
    const rate = m(c, op, "rate");
    const ratio = rate / m(contenders[0], op, "rate");
    return `${op} ${String(Math.round(rate)).padStart(5)} (${ratio.toFixed(2)}×) ${m(c, op, "node").toFixed(0)}+${m(c, op, "server").toFixed(0)}`;
  });
  console.log(`  ${c.name.padEnd(30)} ${cells.join("  ")}`);
}
for (const c of contenders) await c.close?.();
for (const c of contenders) await admin.query(`drop table if exists ${c.t}`);
await Promise.all(pools.map((p) => p.promise().end()));
