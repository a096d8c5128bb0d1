import { createRequire } from "node:module";
import { createStore } from "@sessionkit/core";
import { type DatabankLike, databankAdapter } from "@sessionkit/databank";
import { createClient } from "redis";
import type { BenchContext, Benchmark, BenchSection, Measurement } from "./harness.js";
import { benchSession, measure, promisifyCallback, timeJob } from "./harness.js";

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
  small: { ops: 3000, rounds: 3, live: 20_000, expired: 2_000, gcRounds: 3 },
  large: { ops: 10_000, rounds: 5, live: 100_000, expired: 10_000, gcRounds: 5 },
} as const;
/** sessionkit's GC batch: the store's default gcBatchSize. */
const GC_BATCH = 1000;

type Session = Record<string, unknown>;

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
  /** Absent for a reference that only measures set and get. */
  destroy?(id: string): Promise<unknown>;
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

/**
 * The same work with bare databank calls, storing what the adapter stores: the session
 * serialized to JSON inside `{ sessionkit, sid, payload, expiresAt, owner }` (a session store
 * over databank has to keep the expiry beside the session; the payload is the serialized
 * session, as the core hands it over). get parses the payload back into a session, as the
 * store must; touch is read + save (databank has no partial update), as ours is.
 *
 * It is a floor, not a correct store: it skips work the issue makes mandatory. It keeps no
 * expiry index (without one GC must scan every session, as connect-databank's does), it does
 * not order a touch's read + save against other writes of the same id (so a touch can write
 * back a replaced payload or revive a destroyed session), and its get does not check expiry.
 */
function raw(bank: DatabankLike, type: string): Contender {
  const record = (id: string, s: Session) => ({
    sessionkit: 1,
    sid: id,
    payload: JSON.stringify(s),
    expiresAt: Date.now() + HOUR,
    owner: null,
  });
  return {
    name: "raw databank",
    set: (id, s) => bankCall((cb) => bank.save(type, id, record(id, s), cb)),
    get: async (id) => {
      const found = (await bankCall((cb) => bank.read(type, id, cb)).catch(missingIsNull)) as {
        payload: string;
      } | null;
      return found && JSON.parse(found.payload);
    },
    touch: async (id) => {
      const found = (await bankCall<unknown>((cb) => bank.read(type, id, cb))) as Session;
      await bankCall((cb) => bank.save(type, id, { ...found, expiresAt: Date.now() + HOUR }, cb));
    },
    destroy: (id) => bankCall((cb) => bank.del(type, id, cb)).catch(missingIsNull),
    close: async () => {},
  };
}

/**
 * The least a databank call can do: the session object itself under its id (one JSON
 * serialization, by the driver), no expiry beside it. A reference for set and get only.
 */
function rawObject(bank: DatabankLike, type: string): Contender {
  return {
    name: "raw databank, session object",
    get: (id) => bankCall((cb) => bank.read(type, id, cb)).catch(missingIsNull),
    set: (id, s) => bankCall((cb) => bank.save(type, id, s, cb)),
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
  const contenders = [
    raw(banks.ours, "bench_raw"),
    sessionkit(banks.ours, "bench_sk"),
    connectDatabank(banks.legacy),
    rawObject(banks.ours, "bench_rawobj"),
  ];
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
      const { touch, destroy } = c;
      if (touch) await run("touch", (i) => touch(ids[i] as string, s));
      let next = 0; // each destroy takes an id that still exists, warm-up included
      if (destroy) await run("destroy", () => destroy(ids[next++] as string));
    }
  }
  for (const c of contenders) await c.close();
  const measurements: Measurement[] = [];
  for (const c of contenders) {
    for (const op of ["set", "get", "touch", "destroy"]) {
      const runs = (results.get(`${c.name}\u0000${op}`) ?? []).sort((a, b) => a.opsPerSec - b.opsPerSec);
      const median = runs[Math.floor(runs.length / 2)];
      if (median) measurements.push({ contender: c.name, op, opsPerSec: median.opsPerSec, p99Ms: median.p99Ms });
      else if (op === "touch" && c.destroy) {
        measurements.push({ contender: c.name, op, opsPerSec: 0, note: "no touch(): express-session skips it" });
      }
    }
  }
  return {
    title: `databank (${driver} driver): operations`,
    baseline: "raw databank",
    measurements,
    notes: [
      `${ops} operations per round, ${CONCURRENCY} in flight, median of ${rounds} rounds; a ~300-byte session.`,
      "raw databank = bare read/save/del of the record the adapter stores (the session as JSON beside its expiry); get parses the session back; touch is read + save (databank has no partial update), as is ours.",
      "raw databank is a floor, not a correct store: no expiry index (which the GC requirement makes mandatory), no ordering of a touch against other writes of the same id, no expiry check on get.",
      "raw databank, session object = save/read of the session object itself (one serialization, no expiry kept): the floor, for set and get.",
      "sessionkit = the whole store (createStore + databankAdapter): validation, JSON codec, expiry, index.",
    ],
  };
}

/** One GC contender over one bank: fill it, add expired sessions, collect them, count what is left. */
interface GcContender {
  name: string;
  /** Writes `n` sessions `prefix-0..n-1`, expired or live for an hour. */
  add(prefix: string, n: number, expired: boolean): Promise<void>;
  /** One full collection, as the contender runs it. */
  collect(): Promise<void>;
  /** Sessions stored: [live, expired]. Checked outside the timing. */
  census(): Promise<[number, number]>;
  close(): Promise<void>;
}

/** Counts [live, expired] records of a type by scanning it: the check outside the timing. */
async function census(
  bank: DatabankLike,
  type: string,
  expiryOf: (value: unknown) => number,
): Promise<[number, number]> {
  const now = Date.now();
  let live = 0;
  let expired = 0;
  await bankCall((cb) => bank.scan(type, (v) => (expiryOf(v) > now ? live++ : expired++), cb));
  return [live, expired];
}

async function sessionkitGc(bank: DatabankLike, type: string): Promise<GcContender> {
  const payload = JSON.stringify(benchSession());
  // The backend directly: the store refuses to write sessions that already expired.
  const backend = databankAdapter(bank, { type });
  await backend.init();
  await backend.deleteExpired(Date.now(), GC_BATCH); // the first run's sweep, on an empty type
  return {
    name: "sessionkit",
    add: (prefix, n, expired) =>
      fill(n, (i) =>
        backend.upsert({
          id: `${prefix}-${i}`,
          payload,
          expiresAt: expired ? Date.now() - 1000 : Date.now() + HOUR,
          owner: null,
          now: expired ? Date.now() - 2000 : Date.now(),
        }),
      ),
    collect: async () => {
      // Batches of GC_BATCH, as the store runs them, until one comes back short.
      while ((await backend.deleteExpired(Date.now(), GC_BATCH)) === GC_BATCH) {}
    },
    census: () => census(bank, type, (v) => (v as { expiresAt: number }).expiresAt),
    close: async () => {
      await backend.clear();
      await backend.close();
    },
  };
}

function connectDatabankGc(bank: DatabankLike): GcContender {
  const watched = watchCleanup(bank);
  const store = new DatabankStore(watched.bank, null, 0);
  return {
    name: "connect-databank",
    add: (prefix, n, expired) => {
      const expires = expired ? new Date(Date.now() - 1000) : undefined;
      return fill(n, (i) => promisifyCallback((cb) => store.set(`${prefix}-${i}`, benchSession(expires), cb)));
    },
    collect: () => watched.run((cb) => store.cleanup(cb)),
    census: () => census(bank, "session", (v) => Date.parse((v as { cookie: { expires: string } }).cookie.expires)),
    close: async () => {
      await promisifyCallback((cb) => store.clear(cb));
      store.close();
    },
  };
}

/**
 * connect-databank 1.0.3's `cleanup()` calls back from its delete queue's `drain` only when its
 * scan has already finished. On Redis the scan's results arrive over many round trips, so when
 * the last expired session's delete completes before the scan does, the queue never drains
 * again and `cleanup()` never calls back (it hung this bench about once in five Redis runs).
 * This watches the same bank from outside: a run is also over once the scan has finished and
 * no delete has been in flight for two event-loop turns (its queue pushes on the next turn).
 * The census after every collection still checks that every expired session went.
 */
function watchCleanup(bank: DatabankLike) {
  let scanning = false;
  let deleting = 0;
  let settle: (() => void) | undefined;
  const checkSoon = () =>
    setImmediate(() =>
      setImmediate(() => {
        if (!scanning && deleting === 0) settle?.();
      }),
    );
  const watched: DatabankLike = Object.create(bank);
  watched.scan = (type, onResult, cb) => {
    scanning = true;
    bank.scan(type, onResult, (error) => {
      scanning = false;
      checkSoon();
      cb(error);
    });
  };
  watched.del = (type, id, cb) => {
    deleting++;
    bank.del(type, id, (error) => {
      deleting--;
      if (!scanning && deleting === 0) checkSoon(); // only then can the run be over: no cost while it is not
      cb(error);
    });
  };
  return {
    bank: watched,
    run: (cleanup: (cb: (error: unknown) => void) => void) =>
      new Promise<void>((resolve, reject) => {
        const done = (error?: unknown) => {
          if (!settle) return;
          settle = undefined;
          if (error) reject(error);
          else resolve();
        };
        settle = () => done();
        cleanup((error) => done(error ?? undefined));
      }),
  };
}

interface GcRun {
  /** Wall-clock ms of the timed collections, in round order. */
  wall: number[];
  /** CPU ms of this process during them (for the memory driver, all the work). */
  cpu: number[];
}

/**
 * The floor of any GC that checks a record before deleting it: bare `readAll` (slices of 100,
 * 4 in flight) and `del` (64 in flight) of exactly the expired ids, which it is told, over the
 * same records and driver. No index, no bookkeeping: what the records' reads and deletes cost.
 */
function floorGc(bank: DatabankLike, type: string): GcContender {
  const payload = JSON.stringify(benchSession());
  let expiredIds: string[] = [];
  const record = (id: string, expiresAt: number) => ({ sessionkit: 1, sid: id, payload, expiresAt, owner: null });
  return {
    name: "floor: bare read + delete of the expired ids",
    add: async (prefix, n, expired) => {
      const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
      if (expired) expiredIds = ids;
      await fill(n, (i) =>
        bankCall((cb) =>
          bank.save(type, ids[i] as string, record(ids[i] as string, Date.now() + (expired ? -1000 : HOUR)), cb),
        ),
      );
    },
    collect: async () => {
      const slices = Array.from({ length: Math.ceil(expiredIds.length / 100) }, (_, i) =>
        expiredIds.slice(i * 100, i * 100 + 100),
      );
      let next = 0;
      const worker = async () => {
        while (next < slices.length) {
          const slice = slices[next++] as string[];
          await bankCall((cb) => bank.readAll(type, slice, cb));
          for (let i = 0; i < slice.length; i += 64) {
            await Promise.all(slice.slice(i, i + 64).map((id) => bankCall((cb) => bank.del(type, id, cb))));
          }
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
    },
    census: () => census(bank, type, (v) => (v as { expiresAt: number }).expiresAt),
    close: async () => {
      const ids: string[] = [];
      await bankCall((cb) => bank.scan(type, (v) => ids.push((v as { sid: string }).sid), cb));
      await fill(ids.length, (i) => bankCall((cb) => bank.del(type, ids[i] as string, cb)));
    },
  };
}

/**
 * The same procedure for both contenders, interleaved so that background load falls on both
 * alike: each fills `live` live sessions and runs one untimed warm-up collection of
 * `expired / 10`; then, `gcRounds` times, each in turn (the order alternating) adds `expired`
 * expired sessions, pauses, and times one full collection. After every collection a scan,
 * outside the timing, checks that exactly the expired sessions went and every live one is there.
 */
async function timeGc(ctx: BenchContext, driver: string, contenders: GcContender[]): Promise<Map<string, GcRun>> {
  const { live, expired, gcRounds } = SIZES[ctx.size];
  const runs = new Map<string, GcRun>(contenders.map((c) => [c.name, { wall: [], cpu: [] }]));
  for (const c of contenders) {
    ctx.log(`databank ${driver}: ${c.name} GC, filling ${live} live sessions`);
    await c.add("live", live, false);
  }
  for (let round = 0; round <= gcRounds; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) {
      const n = round === 0 ? Math.ceil(expired / 10) : expired;
      const step = (what: string) => ctx.log(`databank ${driver}: ${c.name} GC round ${round}: ${what}`);
      step(`adding ${n} expired`);
      await c.add(`dead${round}`, n, true);
      await new Promise((resolve) => setTimeout(resolve, 200)); // the same pause for both: writes settle
      step("collecting");
      const cpu0 = process.cpuUsage();
      const timed = await timeJob(async () => {
        await c.collect();
        return n;
      });
      const cpu = process.cpuUsage(cpu0);
      step("counting what is left");
      const [stillLive, left] = await c.census();
      if (stillLive !== live || left !== 0) {
        throw new Error(`${c.name} GC left ${stillLive} of ${live} live and ${left} of ${n} expired sessions`);
      }
      const run = runs.get(c.name) as GcRun;
      if (round > 0) {
        run.wall.push(timed.ms);
        run.cpu.push((cpu.user + cpu.system) / 1000);
      }
    }
  }
  return runs;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function gcSection(
  ctx: BenchContext,
  driver: "memory" | "redis",
  banks: { ours: DatabankLike; legacy: DatabankLike },
): Promise<BenchSection> {
  const { live, expired, gcRounds } = SIZES[ctx.size];
  const measurements: Measurement[] = [];
  const type = "bench_gc";
  const ours = await sessionkitGc(banks.ours, type);
  const theirs = connectDatabankGc(banks.legacy);
  const bare = floorGc(banks.ours, "bench_gcfloor");
  const runs = await timeGc(ctx, driver, [ours, theirs, bare]);
  const describe = (r: GcRun) =>
    `${median(r.wall).toFixed(0)} ms; CPU ${median(r.cpu).toFixed(0)} ms; rounds ${r.wall.map((ms) => ms.toFixed(0)).join(", ")} ms`;
  for (const [c, aside] of [
    [ours, ""],
    [theirs, " (cleanup() scans every session)"],
    [bare, " (the least a checking GC can do)"],
  ] as const) {
    const run = runs.get(c.name) as GcRun;
    measurements.push({
      contender: c.name,
      op: "gc",
      opsPerSec: (expired / median(run.wall)) * 1000,
      note: `${describe(run)}${aside}`,
    });
  }
  await theirs.close();
  await bare.close();
  // The daily sweep (a full scan, the safety net for lost index entries), for the record.
  await bankCall((cb) => banks.ours.del(`${type}_meta`, "sweep", cb));
  const sweep = await timeJob(async () => {
    await ours.collect();
    return live;
  });
  measurements.push({
    contender: ours.name,
    op: "daily sweep",
    opsPerSec: sweep.perSec,
    note: `${sweep.ms.toFixed(0)} ms, full scan, sessions/s`,
  });
  await ours.close();
  return {
    title: `databank (${driver} driver): garbage collection, ${live} live + ${expired} expired`,
    baseline: "connect-databank",
    measurements,
    notes: [
      `gc = expired sessions deleted per second by one full collection (sessionkit: batches of ${GC_BATCH} as the store runs them; connect-databank: cleanup()).`,
      `Same procedure and driver for both, interleaved: ${live} live sessions each, one untimed warm-up collection, then ${gcRounds} rounds of adding ${expired} expired sessions and timing one collection; median round (wall clock), with this process's CPU time beside it.`,
      "floor = bare readAll + del of exactly the expired ids (told which they are) over the same records: what reading each record before deleting it costs on this driver, with no index at all.",
      "After every collection a scan (outside the timing) checks that all expired sessions went and every live session is still there.",
      "daily sweep = sessionkit's once-a-day full scan that indexes what the index missed; sessions scanned per second.",
    ],
  };
}

async function fill(n: number, write: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i += 200)
    await Promise.all(Array.from({ length: Math.min(200, n - i) }, (_, j) => write(i + j)));
}

/** Deletes the Redis keys this benchmark wrote (its types only; connect-databank's in its own database). */
async function cleanRedis(): Promise<void> {
  const client = createClient({ url: `redis://${REDIS.host}:${REDIS.port}` });
  await client.connect();
  try {
    for (const [db, patterns] of [
      [OURS_DB, ["bench_raw:*", "bench_rawobj:*", "bench_sk*", "bench_gc*"]],
      [LEGACY_DB, ["session:bench-*", "session:live-*", "session:dead*"]],
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
