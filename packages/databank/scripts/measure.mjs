// In-process measurement of the request path on databank's memory driver: CPU time per
// operation (process.cpuUsage, so other jobs on the machine weigh less than in wall time), 8
// operations in flight, the contenders rotated round by round, the median round reported.
//
//   node packages/databank/scripts/measure.mjs            (after `tsc -b packages/databank`)
//   SESSIONKIT_ROOT=/path/to/other/checkout node .../measure.mjs   (the same against another build)
//
// "raw" is a bare databank call on a record of the size the adapter stores (a ~300-byte
// session as JSON beside its expiry): read, save (update of an existing key) and del.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const root = process.env.SESSIONKIT_ROOT ?? new URL("../../..", import.meta.url).pathname;
const require = createRequire(`${root}/packages/databank/package.json`);
const { Databank } = require("databank");
const { createStore } = await import(pathToFileURL(`${root}/packages/core/dist/index.js`).href);
const { databankAdapter } = await import(pathToFileURL(`${root}/packages/databank/dist/index.js`).href);

const OPS = Number(process.env.OPS ?? 20_000);
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const CONCURRENCY = 8;
const HOUR = 3_600_000;
const call = (start) =>
  new Promise((resolve, reject) =>
    start((error, value) => (error && error.name !== "NoSuchThingError" ? reject(error) : resolve(value))),
  );

const session = () => ({
  cookie: { originalMaxAge: HOUR, expires: new Date(Date.now() + HOUR).toISOString(), httpOnly: true, path: "/" },
  user: { id: 12345, name: "Alice Example", email: "alice@example.com", roles: ["admin", "editor"] },
  cart: [1, 2, 3, 4, 5],
  csrf: "a8f7d6e5c4b3a2918f7e6d5c4b3a2910",
  views: 42,
});
const payload = JSON.stringify(session());
const rawRecord = (id) => ({
  sid: id,
  cookie: { expires: new Date(Date.now() + HOUR).toISOString() },
  payload,
  _sessionkit: { exp: Date.now() + HOUR, created: 1, active: 2, owner: null },
});

const bank = Databank.get("memory", {});
await call((cb) => bank.connect({}, cb));

/** Runs `ops` calls of `fn(i)` with CONCURRENCY in flight; resolves with CPU µs per call. */
async function cpuPerOp(fn, ops) {
  let next = 0;
  const worker = async () => {
    while (next < ops) await fn(next++);
  };
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / ops;
}

function contender(name, type) {
  const ids = Array.from({ length: OPS }, (_, i) => `${name}-${i}`);
  return { name, type, ids };
}

// Each contender gets its own type and ids; every round writes them, reads them, touches them
// and destroys them, then writes them again so the next round updates existing records.
const raw = contender("raw", "m_raw");
const storeC = contender("store", "m_store");
const store = createStore(databankAdapter(bank, { type: storeC.type }), { gcInterval: 0 });
const backend = store.backend;
const adapterC = contender("adapter", "m_adapter");
const adapter = databankAdapter(bank, { type: adapterC.type });
await adapter.init();
const v2 = adapter.upsert.length === 1 && typeof adapter.listByOwner === "function";

const results = new Map();
const record = (key, value) => results.set(key, [...(results.get(key) ?? []), value]);
const s = session();
const write = (id, now) => ({ id, payload, expiresAt: now + HOUR, owner: null, now });

const rounds = {
  raw: async () => {
    const { ids, type } = raw;
    record("raw save (new)", await cpuPerOp((i) => call((cb) => bank.save(type, ids[i], rawRecord(ids[i]), cb)), OPS));
    record("raw save", await cpuPerOp((i) => call((cb) => bank.save(type, ids[i], rawRecord(ids[i]), cb)), OPS));
    record("raw read", await cpuPerOp((i) => call((cb) => bank.read(type, ids[i], cb)), OPS));
    record("raw del", await cpuPerOp((i) => call((cb) => bank.del(type, ids[i], cb)), OPS));
  },
  store: async () => {
    const { ids } = storeC;
    const fresh = ids.map((id) => `${id}-${Math.random().toString(36).slice(2)}`);
    record("store set (new)", await cpuPerOp((i) => store.set(fresh[i], s), OPS));
    record("store set", await cpuPerOp((i) => store.set(fresh[i], s), OPS));
    record("store get", await cpuPerOp((i) => store.get(fresh[i]), OPS));
    record("store touch", await cpuPerOp((i) => store.touch(fresh[i], s), OPS));
    record("store destroy", await cpuPerOp((i) => store.destroy(fresh[i]), OPS));
  },
  adapter: async () => {
    if (!v2) return;
    const fresh = adapterC.ids.map((id) => `${id}-${Math.random().toString(36).slice(2)}`);
    const now = Date.now();
    record("adapter upsert (new)", await cpuPerOp((i) => adapter.upsert(write(fresh[i], now)), OPS));
    record("adapter upsert", await cpuPerOp((i) => adapter.upsert(write(fresh[i], now + 1)), OPS));
    record("adapter get", await cpuPerOp((i) => adapter.get(fresh[i], now), OPS));
    record(
      "adapter touch",
      await cpuPerOp((i) => adapter.touch({ id: fresh[i], expiresAt: now + 2 * HOUR, now, owner: null }), OPS),
    );
    record("adapter destroy", await cpuPerOp((i) => adapter.destroy(fresh[i], { now, until: now + HOUR }), OPS));
  },
};

const order = Object.keys(rounds);
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < order.length; k++) await rounds[order[(k + round) % order.length]]();
  // GC between rounds, so tombstones and expired entries don't pile up across rounds.
  await backend?.deleteExpired?.(Date.now() + 10 * HOUR, 1_000_000).catch(() => {});
  await adapter.deleteExpired(Date.now() + 10 * HOUR, 1_000_000).catch(() => {});
  await adapter.clear?.();
  await store.clear();
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const m = Object.fromEntries([...results].map(([key, values]) => [key, median(values)]));
console.log(
  `memory driver, ${OPS} ops x ${ROUNDS} rounds, ${CONCURRENCY} in flight; CPU µs per operation (median round)`,
);
for (const [key, value] of Object.entries(m)) console.log(`${key.padEnd(22)} ${value.toFixed(2)}`);
const ratio = (a, b) => (m[a] && m[b] ? (m[b] / m[a]).toFixed(2) : "-");
console.log("\nratio = raw CPU / ours (1.00 = as cheap as the bare call)");
for (const side of ["store", "adapter"]) {
  if (!m[`${side} get`]) continue;
  console.log(
    `${side.padEnd(8)} get ${ratio(`${side} get`, "raw read")}  set ${ratio(`${side} ${side === "store" ? "set" : "upsert"}`, "raw save")}` +
      `  set(new) ${ratio(`${side} ${side === "store" ? "set" : "upsert"} (new)`, "raw save (new)")}` +
      `  touch ${ratio(`${side} touch`, "raw save")}  destroy ${ratio(`${side} destroy`, "raw del")}`,
  );
}
await store.close();
await adapter.close();
await call((cb) => bank.disconnect(cb));
