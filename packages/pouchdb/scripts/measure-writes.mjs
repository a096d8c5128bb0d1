// The adapter's hot paths against raw PouchDB calls, in one process (issue 15). After a build:
//   node --expose-gc packages/pouchdb/scripts/measure-writes.mjs [memory|leveldb|stub] [dist dir]
// stub: a database answering at once from a Map, so what is left is the adapter's own cost.
// Default: short blocks of each operation alternate between the adapter and raw PouchDB (order
// flipped every block), 8 calls in flight, timed in this process's CPU time (other processes on a
// busy machine don't count); the ratio adapter ÷ raw over all blocks, and the median and middle
// half of the per-block ratios. PAIRED=1: one call at a time, alternating call by call, the ratio
// of the median call times (a burst of load from elsewhere lands on single calls, which the
// median ignores). BLOCKS, PER_BLOCK and ONLY (a scenario's name or its start) change the run.
// Another build of the adapter (say, the one before a change) compares when its dist is copied
// inside this package and named as the second argument.
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const packageDir = new URL("..", import.meta.url);
const require = createRequire(packageDir);
const target = process.argv[2] ?? "memory";
const distDir = new URL(`${process.argv[3] ?? "dist"}/`, packageDir);
const { pouchdbAdapter } = await import(new URL("index.js", distDir).href);

const BLOCKS = Number(process.env.BLOCKS ?? 40);
const PER_BLOCK = Number(process.env.PER_BLOCK ?? 250);
const IN_FLIGHT = 8;
const HOUR = 3_600_000;

const dir = mkdtempSync(join(tmpdir(), "sessionkit-measure-"));
let dbCounter = 0;
/** A database answering at once from a Map: what is left is the adapter's own cost per call. */
function stubDatabase() {
  const docs = new Map();
  let revs = 0;
  const failure = (status) => Promise.reject(Object.assign(new Error(String(status)), { status }));
  const db = {
    adapter: "stub",
    get: (id) => (docs.has(id) ? Promise.resolve({ ...docs.get(id) }) : failure(404)),
    put(doc) {
      if ((docs.get(doc._id)?._rev ?? undefined) !== doc._rev) return failure(409);
      const rev = `${++revs}-stub`;
      docs.set(doc._id, { ...doc, _rev: rev });
      return Promise.resolve({ ok: true, id: doc._id, rev });
    },
    bulkDocs: (list) => Promise.all(list.map((doc) => db.put(doc).catch((error) => error))),
    allDocs: ({ keys }) =>
      Promise.resolve({ rows: keys.map((key) => ({ id: key, key, value: { rev: docs.get(key)?._rev } })) }),
    query: () => Promise.resolve({ rows: [] }),
    info: () => Promise.resolve({}),
    close: () => Promise.resolve(),
  };
  return db;
}

function database() {
  if (target === "stub") return stubDatabase();
  if (target === "leveldb") return new (require("pouchdb"))(join(dir, `db-${++dbCounter}`), { adapter: "leveldb" });
  const PouchDB = require("pouchdb-core")
    .plugin(require("pouchdb-adapter-memory"))
    .plugin(require("pouchdb-mapreduce"));
  return new PouchDB(`measure-${++dbCounter}`, { adapter: "memory" });
}

let idCounter = 0;
const freshIds = (n) => Array.from({ length: n }, () => `sid-${process.pid}-${++idCounter}-${"x".repeat(20)}`);
const session = (n) =>
  JSON.stringify({ cookie: { originalMaxAge: HOUR, expires: null, httpOnly: true, path: "/" }, user: "ann", n });
const doc = (id, n, rev) => ({
  _id: id,
  ...(rev ? { _rev: rev } : {}),
  type: "sessionkit-session",
  payload: session(n),
  expiresAt: Date.now() + HOUR,
  owner: null,
  createdAt: Date.now(),
  lastActiveAt: Date.now(),
});
// Old and new boundary in one object: v1 read (id, payload, expiresAt, owner), v2 adds now.
const write = (id, n) => ({ id, payload: session(n), expiresAt: Date.now() + HOUR, owner: null, now: Date.now() });

/** Operations per second of this process's CPU time (user + system, all threads): other
 * processes competing for the machine's cores don't count, as they would in wall-clock time. */
async function run(ids, op) {
  let next = 0;
  const started = process.cpuUsage();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < ids.length) await op(ids[next++]);
    }),
  );
  const used = process.cpuUsage(started);
  return ids.length / ((used.user + used.system) / 1e6);
}

const scenarios = {
  // A session this process has not read or written: sessions seeded by another writer.
  "update, revision not cached": {
    async prepare(db) {
      const ids = freshIds(PER_BLOCK);
      await db.bulkDocs(ids.map((id) => doc(id, 0)));
      return ids;
    },
    ours: (backend) => (id) => backend.upsert(write(id, 1)),
    raw: (db) => async (id) => {
      const current = await db.get(id);
      await db.put(doc(id, 1, current._rev));
    },
  },
  // Unknown ids, one in three a session another writer made: raw PouchDB knows which (a get
  // and a put, or one put); the adapter has only its estimate of how many exist.
  "one unknown id in three exists": {
    async prepare(db) {
      const ids = freshIds(PER_BLOCK);
      const existing = new Set(ids.filter((_, i) => i % 3 === 0));
      await db.bulkDocs([...existing].map((id) => doc(id, 0)));
      return { ids, existing };
    },
    ours: (backend) => (id) => backend.upsert(write(id, 1)),
    raw: (db, prepared) => async (id) => {
      const rev = prepared.existing.has(id) ? (await db.get(id))._rev : undefined;
      await db.put(doc(id, 1, rev));
    },
  },
  "set, new session": {
    prepare: async () => freshIds(PER_BLOCK),
    ours: (backend) => (id) => backend.upsert(write(id, 1)),
    raw: (db) => (id) => db.put(doc(id, 1)),
  },
  "update after get (revision cached)": {
    async prepare(db, backend) {
      const ids = freshIds(PER_BLOCK);
      await db.bulkDocs(ids.map((id) => doc(id, 0)));
      for (const id of ids) await backend.get(id, Date.now());
      const revs = new Map((await db.allDocs({ keys: ids })).rows.map((row) => [row.id, row.value.rev]));
      return { ids, revs };
    },
    ours: (backend) => (id) => backend.upsert(write(id, 2)),
    raw: (db, prepared) => (id) => db.put(doc(id, 2, prepared.revs.get(id))),
  },
  get: {
    async prepare(db) {
      const ids = freshIds(PER_BLOCK);
      await db.bulkDocs(ids.map((id) => doc(id, 0)));
      return [...ids, ...ids, ...ids, ...ids];
    },
    ours: (backend) => (id) => backend.get(id, Date.now()),
    raw: (db) => (id) => db.get(id),
  },
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const quartiles = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return [s[Math.floor(s.length / 4)], s[Math.floor((3 * s.length) / 4)]];
};

/**
 * PAIRED=1: one call at a time, the adapter's and raw PouchDB's alternating call by call (order
 * flipped every pair), each timed; the ratio of the median times. A burst of load from another
 * process lands on single calls, which the median ignores.
 */
async function paired(name, scenario, db, backend) {
  const times = { ours: [], raw: [] };
  for (let block = 0; block < BLOCKS; block++) {
    const prepared = { ours: await scenario.prepare(db, backend), raw: await scenario.prepare(db, backend) };
    const idsOf = (p) => (Array.isArray(p) ? p : p.ids);
    const ids = { ours: idsOf(prepared.ours), raw: idsOf(prepared.raw) };
    const ops = { ours: scenario.ours(backend), raw: scenario.raw(db, prepared.raw) };
    for (let i = 0; i < ids.ours.length; i++) {
      for (const who of i % 2 ? ["raw", "ours"] : ["ours", "raw"]) {
        const started = performance.now();
        await ops[who](ids[who][i]);
        if (block > 0) times[who].push(performance.now() - started); // block 0 warms up
      }
    }
  }
  const [ours, raw] = [median(times.ours), median(times.raw)];
  console.log(
    `${target} ${name} (paired, one at a time): adapter ÷ raw ${(raw / ours).toFixed(2)}; ` +
      `median µs per call: adapter ${(ours * 1000).toFixed(0)}, raw ${(raw * 1000).toFixed(0)}`,
  );
}

const only = process.env.ONLY;
for (const [name, scenario] of Object.entries(scenarios)) {
  if (only && !name.startsWith(only)) continue;
  const db = database();
  const backend = pouchdbAdapter(db);
  await backend.init();
  if (process.env.PAIRED) {
    await paired(name, scenario, db, backend);
    await backend.close();
    await db.close();
    continue;
  }
  const ratios = [];
  const totals = { ours: { ops: 0, seconds: 0 }, raw: { ops: 0, seconds: 0 } };
  for (let block = 0; block < BLOCKS + 1; block++) {
    const order = block % 2 === 0 ? ["ours", "raw"] : ["raw", "ours"];
    const result = {};
    for (const who of order) {
      const prepared = await scenario.prepare(db, backend);
      const ids = Array.isArray(prepared) ? prepared : prepared.ids;
      const op = who === "ours" ? scenario.ours(backend) : scenario.raw(db, prepared);
      global.gc?.(); // outside the timing: each run starts on a collected heap
      result[who] = await run(ids, op);
      if (block > 0) {
        totals[who].ops += ids.length;
        totals[who].seconds += ids.length / result[who];
      }
    }
    if (block > 0) ratios.push(result.ours / result.raw); // block 0 warms up
  }
  const [low, high] = quartiles(ratios);
  const rate = (who) => totals[who].ops / totals[who].seconds;
  if (target === "stub") {
    const micros = (who) => 1e6 / rate(who);
    console.log(
      `stub ${name}: adapter ${micros("ours").toFixed(1)} µs, raw ${micros("raw").toFixed(1)} µs of CPU per call`,
    );
    await backend.close();
    continue;
  }
  console.log(
    `${target} ${name}: adapter ÷ raw ${(rate("ours") / rate("raw")).toFixed(2)} over all blocks, ` +
      `median block ${median(ratios).toFixed(2)} (middle half ${low.toFixed(2)}-${high.toFixed(2)}); ` +
      `ops per CPU-second: adapter ${Math.round(rate("ours"))}, raw ${Math.round(rate("raw"))}`,
  );
  await backend.close();
  await db.close();
}
rmSync(dir, { recursive: true, force: true });
