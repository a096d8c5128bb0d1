// In-process measurement of the request path on databank's memory driver, against bare databank
// calls on a record of the same size (a ~300-byte session as JSON beside its expiry).
//
//   node packages/databank/scripts/measure.mjs       (after `tsc -b packages/core packages/databank`)
//   SESSIONKIT_ROOT=/path/to/another/checkout node packages/databank/scripts/measure.mjs
//
// CPU time per operation (process.cpuUsage: other jobs on the machine weigh less than in wall
// time), 8 operations in flight. Each round measures every operation of ours and then the bare
// call on the same type and records of the same shape (so the driver does the same work), and the
// ratio is taken per round; the median round is reported. Ratio = bare CPU / ours: 1.00 is as
// cheap as the bare call. "touch" is compared with a bare read + save (databank has no partial
// update) and with a bare save.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const root = process.env.SESSIONKIT_ROOT ?? new URL("../../..", import.meta.url).pathname;
const require = createRequire(`${root}/packages/databank/package.json`);
const { Databank } = require("databank");
const { createStore } = await import(pathToFileURL(`${root}/packages/core/dist/index.js`).href);
const { databankAdapter } = await import(pathToFileURL(`${root}/packages/databank/dist/index.js`).href);

const OPS = Number(process.env.OPS ?? 5000);
const ROUNDS = Number(process.env.ROUNDS ?? 15);
const CONCURRENCY = 8;
const HOUR = 3_600_000;
const call = (start) =>
  new Promise((resolve, reject) =>
    start((error, value) => (error && error.name !== "NoSuchThingError" ? reject(error) : resolve(value))),
  );

const session = {
  cookie: { originalMaxAge: HOUR, expires: new Date(Date.now() + HOUR).toISOString(), httpOnly: true, path: "/" },
  user: { id: 12345, name: "Alice Example", email: "alice@example.com", roles: ["admin", "editor"] },
  cart: [1, 2, 3, 4, 5],
  csrf: "a8f7d6e5c4b3a2918f7e6d5c4b3a2910",
  views: 42,
};
const payload = JSON.stringify(session);
const record = (id) => ({
  sid: id,
  cookie: { expires: new Date(Date.now() + HOUR).toISOString() },
  _sessionkit: { exp: Date.now() + HOUR, created: 1, active: 2, owner: null },
  payload,
});

const bank = Databank.get("memory", {});
await call((cb) => bank.connect({}, cb));

async function cpuPerOp(fn) {
  let next = 0;
  const worker = async () => {
    while (next < OPS) await fn(next++);
  };
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / OPS;
}

const level = process.env.LEVEL ?? "adapter"; // "adapter": the backend's calls; "store": createStore's
const v2 = databankAdapter.length >= 1 && typeof databankAdapter(bank).listByOwner === "function";
let round = 0;
const fresh = (label) => Array.from({ length: OPS }, (_, i) => `${label}-${round}-${i}`);

const TYPE = level === "store" ? "m_store" : "m_adapter";
/** Ours, per operation, over TYPE. */
function ours() {
  if (level === "store") {
    const store = createStore(databankAdapter(bank, { type: TYPE }), { gcInterval: 0 });
    return {
      setNew: (id) => store.set(id, session),
      set: (id) => store.set(id, session),
      get: (id) => store.get(id),
      touch: (id) => store.touch(id, session),
      destroy: (id) => store.destroy(id),
      reset: () => store.clear(),
    };
  }
  if (!v2) throw new Error("LEVEL=adapter needs the v2 adapter; use LEVEL=store");
  const adapter = databankAdapter(bank, { type: TYPE });
  const now = Date.now();
  const write = (id) => ({ id, payload, expiresAt: now + HOUR, owner: null, now });
  return {
    init: () => adapter.init(),
    setNew: (id) => adapter.upsert(write(id)),
    set: (id) => adapter.upsert(write(id)),
    get: (id) => adapter.get(id, now),
    touch: (id) => adapter.touch({ id, expiresAt: now + 2 * HOUR, now, owner: null }),
    destroy: (id) => adapter.destroy(id, { now, until: now + HOUR }),
    reset: () => adapter.clear(),
  };
}
const save = (id) => call((cb) => bank.save(TYPE, id, record(id), cb));
const raw = {
  setNew: save,
  set: save,
  get: (id) => call((cb) => bank.read(TYPE, id, cb)),
  touch: (id) => call((cb) => bank.read(TYPE, id, cb)).then((value) => call((cb) => bank.save(TYPE, id, value, cb))),
  touchSave: save,
  destroy: (id) => call((cb) => bank.del(TYPE, id, cb)),
};
const it = ours();
await it.init?.();

const ratios = new Map();
const costs = new Map();
const keep = (map, key, value) => map.set(key, [...(map.get(key) ?? []), value]);
for (round = 0; round < ROUNDS; round++) {
  const ids = { ours: fresh("o"), raw: fresh("r") };
  for (const op of ["setNew", "set", "get", "touch", "destroy"]) {
    const a = await cpuPerOp((i) => it[op](ids.ours[i]));
    const b = await cpuPerOp((i) => raw[op](ids.raw[i]));
    keep(ratios, op, b / a);
    keep(costs, op, [a, b]);
    if (op === "touch") {
      const c = await cpuPerOp((i) => raw.touchSave(ids.raw[i]));
      keep(ratios, "touchSave", c / a);
      keep(costs, "touchSave", [a, c]);
    }
  }
  await it.reset();
}
const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
const names = { setNew: "set, new id", set: "set", get: "get", touch: "touch", touchSave: "touch", destroy: "destroy" };
const bare = { setNew: "save", set: "save", get: "read", touch: "read + save", touchSave: "save", destroy: "del" };
console.log(`${level} level, memory driver: ${OPS} ops x ${ROUNDS} rounds, ${CONCURRENCY} in flight`);
console.log("op            ours µs  bare µs  ratio (bare/ours, median of rounds)");
for (const [op, values] of ratios) {
  const [a, b] = [median(costs.get(op).map((c) => c[0])), median(costs.get(op).map((c) => c[1]))];
  console.log(
    `${names[op].padEnd(12)} ${a.toFixed(2).padStart(7)}  ${b.toFixed(2).padStart(7)}  ${median(values).toFixed(2)} vs ${bare[op]}`,
  );
}
await call((cb) => bank.disconnect(cb));
