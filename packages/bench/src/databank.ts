import { createRequire } from "node:module";
import { createStore } from "@sessionkit/core";
import { type DatabankLike, databankAdapter } from "@sessionkit/databank";
import { createClient } from "redis";
import type { BenchContext, Benchmark, BenchSection, Measurement } from "./harness.js";
import { measure, promisifyCallback, timeJob } from "./harness.js";

// databank, connect-databank and express-session are CommonJS without types.
const require = createRequire(import.meta.url);
const { Databank } = require("databank") as { Databank: { get(driver: string, params: object): DatabankLike } };
const session = require("express-session");
const DatabankStore = require("connect-databank")(session);

const REDIS_URL = new URL(process.env.SESSIONKIT_REDIS_URL ?? "redis://127.0.0.1:6379");
const REDIS = { host: REDIS_URL.hostname || "127.0.0.1", port: Number(REDIS_URL.port || 6379) };
/** connect-databank always writes the `session` type: it gets a Redis database of its own. */
const LEGACY_DB = 12;
const OURS_DB = Number(REDIS_URL.pathname.slice(1) || 0);
const CONCURRENCY = 8;
const HOUR = 3_600_000;

const SIZES = {
  small: { ops: 3000, rounds: 3, live: 20_000, expired: 2_000 },
  large: { ops: 10_000, rounds: 5, live: 100_000, expired: 10_000 },
} as const;

type Session = Record<string, unknown>;

/** A typical logged-in express-session session (about 300 bytes of JSON). */
function benchSession(expires = new Date(Date.now() + HOUR)): Session {
  return {
    cookie: { originalMaxAge: HOUR, expires: expires.toISOString(), httpOnly: true, path: "/", secure: false },
    user: { id: 4242, name: "Alice Example", roles: ["reader", "editor"] },
    csrf: "f3a9c0b1d2e4f5a6b7c8d9e0f1a2b3c4",
    views: 17,
    cart: [
      { sku: "A-100", qty: 2 },
      { sku: "B-205", qty: 1 },
    ],
  };
}

function bankCall<T = unknown>(start: (cb: (error: unknown, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value as T))));
}

async function openBank(driver: "memory" | "redis", database: number): Promise<DatabankLike> {
  const bank = Databank.get(driver, driver === "redis" ? { ...REDIS, database, checkIndices: false } : {});
  await bankCall((cb) => bank.connect({}, cb));
  return bank;
}

/** One contender's four operations, as express-session would call them. */
interface Contender {
  name: string;
  get(id: string): Promise<unknown>;
  set(id: string, s: Session): Promise<unknown>;
  touch?(id: string, s: Session): Promise<unknown>;
  destroy(id: string): Promise<unknown>;
  close(): Promise<void>;
}

function sessionkit(bank: DatabankLike, type: string): Contender {
  const store = createStore(databankAdapter(bank, { type }), { gcInterval: 0 });
  return {
    name: "sessionkit",
    get: (id) => store.get(id),
    set: (id, s) => store.set(id, s as never),
    touch: (id, s) => store.touch(id, s as never),
    destroy: (id) => store.destroy(id),
    close: () => store.close(),
  };
}

/** The same work with bare databank calls: the session object under its id, nothing else. */
function raw(bank: DatabankLike, type: string): Contender {
  return {
    name: "raw databank",
    get: (id) => bankCall((cb) => bank.read(type, id, cb)).catch(missingIsNull),
    set: (id, s) => bankCall((cb) => bank.save(type, id, s, cb)),
    // No partial update in databank: a touch is a read and a write.
    touch: async (id, s) => {
      const found = (await bankCall<unknown>((cb) => bank.read(type, id, cb))) as Session;
      await bankCall((cb) => bank.save(type, id, { ...found, cookie: s.cookie }, cb));
    },
    destroy: (id) => bankCall((cb) => bank.del(type, id, cb)).catch(missingIsNull),
    close: async () => {},
  };
}

function connectDatabank(bank: DatabankLike): Contender {
  const store = new DatabankStore(bank, null, 0);
  return {
    name: "connect-databank",
    get: (id) => promisifyCallback((cb) => store.get(id, cb)),
    // connect-databank adds `sid` to the object it is given: each call gets its own copy.
    set: (id, s) => promisifyCallback((cb) => store.set(id, { ...s }, cb)),
    destroy: (id) => promisifyCallback((cb) => store.destroy(id, cb)),
    close: async () => store.close(),
  };
}

function missingIsNull(error: unknown): null {
  if ((error as { name?: string }).name === "NoSuchThingError") return null;
  throw error;
}

async function opsSection(
  ctx: BenchContext,
  driver: "memory" | "redis",
  banks: { ours: DatabankLike; legacy: DatabankLike },
): Promise<BenchSection> {
  const { ops, rounds } = SIZES[ctx.size];
  const contenders = [raw(banks.ours, "bench_raw"), sessionkit(banks.ours, "bench_sk"), connectDatabank(banks.legacy)];
  const warmup = Math.ceil(ops / 10);
  const results = new Map<string, Array<{ opsPerSec: number; p99Ms: number }>>();
  const s = benchSession();
  // Rounds, with the contenders' order rotated each round, so JIT warm-up, GC pauses and
  // background load fall on everyone alike; each figure is the median round.
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(k + round) % contenders.length] as Contender;
      ctx.log(`databank ${driver}: ${c.name}, round ${round + 1}/${rounds}`);
      const ids = Array.from({ length: ops + warmup }, (_, i) => `bench-${c.name.replace(/\W/g, "")}-${i}`);
      const run = async (op: string, fn: (i: number) => Promise<unknown>) => {
        const r = await measure(fn, { ops, concurrency: CONCURRENCY, warmup });
        const key = `${c.name}\u0000${op}`;
        results.set(key, [...(results.get(key) ?? []), r]);
      };
      await run("set", (i) => c.set(ids[i] as string, s));
      await fill(warmup, (i) => c.set(ids[ops + i] as string, s)); // so every destroy below finds its session
      await run("get", (i) => c.get(ids[i] as string));
      if (c.touch) await run("touch", (i) => c.touch?.(ids[i] as string, s) as Promise<unknown>);
      let next = 0; // each destroy takes an id that still exists, warm-up included
      await run("destroy", () => c.destroy(ids[next++] as string));
    }
  }
  for (const c of contenders) await c.close();
  const measurements: Measurement[] = [];
  for (const c of contenders) {
    for (const op of ["set", "get", "touch", "destroy"]) {
      const runs = (results.get(`${c.name}\u0000${op}`) ?? []).sort((a, b) => a.opsPerSec - b.opsPerSec);
      const median = runs[Math.floor(runs.length / 2)];
      if (median) measurements.push({ contender: c.name, op, opsPerSec: median.opsPerSec, p99Ms: median.p99Ms });
      else measurements.push({ contender: c.name, op, opsPerSec: 0, note: "no touch(): express-session skips it" });
    }
  }
  return {
    title: `databank (${driver} driver): operations`,
    baseline: "raw databank",
    measurements,
    notes: [
      `${ops} operations per round, ${CONCURRENCY} in flight, median of ${rounds} rounds; a ~300-byte session.`,
      "raw databank = read/save/del of the session object; its touch is read + save (databank has no partial update), as is ours.",
      "sessionkit = the whole store (createStore + databankAdapter): validation, JSON codec, expiry, index.",
    ],
  };
}

async function gcSection(
  ctx: BenchContext,
  driver: "memory" | "redis",
  banks: { ours: DatabankLike; legacy: DatabankLike },
): Promise<BenchSection> {
  const { live, expired } = SIZES[ctx.size];
  const measurements: Measurement[] = [];
  const payload = JSON.stringify(benchSession());

  // sessionkit: the backend directly (the store refuses to write sessions that already expired).
  const type = "bench_gc";
  const backend = databankAdapter(banks.ours, { type, indexDelay: 50 });
  await backend.init();
  await backend.deleteExpired(Date.now(), 1000); // the first run's sweep, on an empty type
  ctx.log(`databank ${driver}: filling ${live} live + ${expired} expired sessions (sessionkit)`);
  const now = Date.now();
  await fill(live + expired, (i) =>
    backend.upsert({ id: `gc-${i}`, payload, expiresAt: i < expired ? now - 1000 : now + HOUR, owner: null }),
  );
  const ours = await timeJob(async () => {
    let total = 0;
    for (;;) {
      const n = await backend.deleteExpired(Date.now(), 1000);
      total += n;
      if (n < 1000) return total;
    }
  });
  if (ours.items !== expired) throw new Error(`sessionkit GC deleted ${ours.items}, expected ${expired}`);
  measurements.push({ contender: "sessionkit", op: "gc", opsPerSec: ours.perSec, note: `${ours.ms.toFixed(0)} ms` });
  // The daily sweep (a full scan, the safety net for lost index entries), for the record.
  await bankCall((cb) => banks.ours.del(`${type}_meta`, "sweep", cb));
  const sweep = await timeJob(async () => {
    await backend.deleteExpired(Date.now(), 1000);
    return live;
  });
  measurements.push({
    contender: "sessionkit",
    op: "daily sweep",
    opsPerSec: sweep.perSec,
    note: `${sweep.ms.toFixed(0)} ms, full scan, sessions/s`,
  });
  await backend.clear();
  await backend.close();

  ctx.log(`databank ${driver}: filling ${live} live + ${expired} expired sessions (connect-databank)`);
  const store = new DatabankStore(banks.legacy, null, 0);
  const past = new Date(Date.now() - 1000);
  await fill(live + expired, (i) =>
    promisifyCallback((cb) => store.set(`cd-${i}`, benchSession(i < expired ? past : undefined), cb)),
  );
  const before = await countType(banks.legacy, "session");
  const theirs = await timeJob(async () => {
    await promisifyCallback((cb) => store.cleanup(cb));
    return expired;
  });
  const deleted = before - (await countType(banks.legacy, "session")); // checked outside the timing
  if (deleted !== expired) throw new Error(`connect-databank cleanup deleted ${deleted}, expected ${expired}`);
  measurements.push({
    contender: "connect-databank",
    op: "gc",
    opsPerSec: theirs.perSec,
    note: `${theirs.ms.toFixed(0)} ms (cleanup(): scans every session)`,
  });
  await promisifyCallback((cb) => store.clear(cb));
  store.close();
  return {
    title: `databank (${driver} driver): garbage collection, ${live} live + ${expired} expired`,
    baseline: "connect-databank",
    measurements,
    notes: [
      "gc = expired sessions deleted per second, one full collection (sessionkit: batches of 1000 as the store runs them).",
      "Both deletions are verified outside the timing (sessionkit: its own count; connect-databank: a scan).",
      "daily sweep = sessionkit's once-a-day full scan that indexes what the index missed; sessions scanned per second.",
    ],
  };
}

async function fill(n: number, write: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i += 200)
    await Promise.all(Array.from({ length: Math.min(200, n - i) }, (_, j) => write(i + j)));
}

async function countType(bank: DatabankLike, type: string): Promise<number> {
  let n = 0;
  await bankCall((cb) => bank.scan(type, () => n++, cb));
  return n;
}

/** Deletes the Redis keys this benchmark wrote (its types only; connect-databank's in its own database). */
async function cleanRedis(): Promise<void> {
  const client = createClient({ url: `redis://${REDIS.host}:${REDIS.port}` });
  await client.connect();
  try {
    for (const [db, patterns] of [
      [OURS_DB, ["bench_raw:*", "bench_sk*", "bench_gc*"]],
      [LEGACY_DB, ["session:bench-*", "session:cd-*"]],
    ] as const) {
      await client.select(db);
      for (const pattern of patterns) {
        const keys = await client.keys(pattern);
        for (let i = 0; i < keys.length; i += 1000) await client.del(keys.slice(i, i + 1000));
      }
    }
  } finally {
    await client.quit();
  }
}

export const bench: Benchmark = async (ctx) => {
  const sections: BenchSection[] = [];
  for (const driver of ["memory", "redis"] as const) {
    if (driver === "redis") await cleanRedis();
    const banks = { ours: await openBank(driver, OURS_DB), legacy: await openBank(driver, LEGACY_DB) };
    try {
      sections.push(await opsSection(ctx, driver, banks));
      sections.push(await gcSection(ctx, driver, banks));
    } finally {
      await bankCall((cb) => banks.ours.disconnect(cb));
      await bankCall((cb) => banks.legacy.disconnect(cb));
      if (driver === "redis") await cleanRedis();
    }
  }
  return sections;
};
