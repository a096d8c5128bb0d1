// The core's own CPU cost per hot-path call (get / set / touch / destroy through createStore), in
// process, over a backend that does nothing (answers at once) or over memoryBackend, against
// calling that backend directly with what the store would pass (JSON included). No Redis.
//
//   npx tsc -b packages/core && node --expose-gc packages/redis/bench/core.mjs
//   BEFORE=/path/to/another/checkout node packages/redis/bench/core.mjs   (adds that build's core as "before")
//
// Environment: OPS per block (default 20000), ROUNDS (default 31), INFLIGHT (default 16),
// BACKEND=memory (default: the do-nothing backend), CALLBACKS=1 (callback form).
// Blocks of every contender alternate (rotating order) and the median over rounds is reported,
// with the median of each round's ratio of "before" to "core" (above 1: the current core is cheaper).
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const here = new URL("..", import.meta.url).pathname;
const OPS = Number(process.env.OPS ?? 20_000);
const ROUNDS = Number(process.env.ROUNDS ?? 31);
const INFLIGHT = Number(process.env.INFLIGHT ?? 16);
const CALLBACKS = process.env.CALLBACKS === "1";
const HOUR = 3_600_000;

const load = async (root) => import(pathToFileURL(join(root, "packages/core/dist/index.js")).href);
const builds = [["core", await load(join(here, "../.."))]];
if (process.env.BEFORE) builds.unshift(["before", await load(process.env.BEFORE)]);

const session = {
  cookie: { originalMaxAge: HOUR, expires: new Date(Date.now() + HOUR), httpOnly: true, path: "/" },
  user: { id: 12345, name: "Alice Example", email: "alice@example.com", roles: ["admin", "editor"] },
  cart: [1, 2, 3, 4, 5],
  csrf: "a8f7d6e5c4b3a2918f7e6d5c4b3a2910",
  views: 42,
};
const payload = JSON.stringify(session);
const record = { id: "x", payload, expiresAt: Date.now() + HOUR, owner: null, createdAt: 1, lastActiveAt: 2 };

/** A backend that stores nothing and answers at once: what remains is the store's own cost. */
function nothing() {
  const yes = Promise.resolve(true);
  const none = Promise.resolve();
  return {
    name: "nothing",
    capabilities: { owners: true, tombstones: true, createdAt: true, expiry: "native" },
    init: () => none,
    get: (id) => Promise.resolve({ ...record, id }),
    upsert: () => yes,
    touch: () => none,
    destroy: () => none,
    destroyByOwner: () => Promise.resolve(0),
    listByOwner: () => Promise.resolve([]),
    clear: () => none,
    deleteExpired: () => Promise.resolve(0),
    count: () => Promise.resolve(0),
    async *stream() {},
    close: () => none,
  };
}

const contenders = [];
for (const [label, core] of builds) {
  const backend = process.env.BACKEND === "memory" ? core.memoryBackend() : nothing();
  const store = core.createStore(backend, { gcInterval: 0 });
  await store.length();
  const call = (method) =>
    CALLBACKS
      ? (...args) => new Promise((resolve, reject) => store[method](...args, (e, v) => (e ? reject(e) : resolve(v))))
      : (...args) => store[method](...args);
  contenders.push({
    label,
    set: call("set"),
    get: call("get"),
    touch: call("touch"),
    destroy: call("destroy"),
  });
  if (label === "core") {
    // The same backend's calls as the store makes them, with the store's JSON work.
    const now = Date.now;
    contenders.push({
      label: "backend",
      set: (id, s) =>
        backend.upsert({
          id,
          payload: JSON.stringify(s),
          expiresAt: s.cookie.expires.getTime(),
          owner: null,
          now: now(),
        }),
      get: (id) => backend.get(id, now()).then((r) => r && JSON.parse(r.payload)),
      touch: (id, s) => backend.touch({ id, expiresAt: s.cookie.expires.getTime(), now: now(), owner: null }),
      destroy: (id) => backend.destroy(id, { now: now(), until: now() + HOUR }),
    });
  }
}

async function cpuPerOp(fn, op, ids) {
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const i = next++;
      await (op === "get" || op === "destroy" ? fn(ids[i]) : fn(ids[i], session));
    }
  };
  globalThis.gc?.(); // with --expose-gc: each block starts clean and pays for its own garbage
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / ids.length;
}

const OPS_ORDER = ["set", "get", "touch", "destroy"];
const results = new Map();
const keep = (key, value) => results.set(key, [...(results.get(key) ?? []), value]);
for (let round = 0; round < ROUNDS; round++) {
  for (const [k, op] of OPS_ORDER.entries()) {
    for (let j = 0; j < contenders.length; j++) {
      const c = contenders[(j + round + k) % contenders.length];
      const ids = Array.from({ length: OPS }, (_, i) => `${c.label}-${round}-${i}`);
      keep(`${c.label} ${op}`, await cpuPerOp(c[op], op, ids));
    }
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
console.log(
  `${process.env.BACKEND === "memory" ? "memoryBackend" : "do-nothing backend"}, ${OPS} ops x ${ROUNDS} rounds, ${INFLIGHT} in flight, ${CALLBACKS ? "callbacks" : "promises"}`,
);
console.log("node CPU µs per op, median over rounds; core's share = store - backend called directly");
for (const op of OPS_ORDER) {
  const m = (label) => median(results.get(`${label} ${op}`));
  let line = `${op.padEnd(8)} backend ${m("backend").toFixed(2).padStart(6)}`;
  for (const [label] of builds) {
    line += `   ${label} ${m(label).toFixed(2).padStart(6)} (share ${(m(label) - m("backend")).toFixed(2)})`;
  }
  if (builds.length > 1) {
    const a = results.get(`before ${op}`);
    const b = results.get(`core ${op}`);
    line += `   before/core ${median(a.map((x, i) => x / b[i])).toFixed(2)}×`;
  }
  console.log(line);
}
