// databank, memory driver and databank-redis: sessionkit's databankAdapter against bare databank
// calls doing the minimal work of a store (the baseline), a control copy of them, and
// connect-databank, each on a bank of its own.
import { createRequire } from "node:module";
import { createStore } from "@sessionkit/core";
import { fromCallback } from "@sessionkit/core/kit";
import { type DatabankLike, databankAdapter } from "@sessionkit/databank";
import {
  type Benchmark,
  type Contender,
  closeAll,
  compareSection,
  OPS,
  sessions,
  storeContender,
  timed,
} from "./harness.js";
import { cleanAround } from "./redis.js";

const require = createRequire(import.meta.url);
const { Databank } = require("databank") as { Databank: { get(driver: string, params: object): DatabankLike } };
const DatabankStore = require("connect-databank")(require("express-session"));

const SIZES = { small: { ops: 30_000, rounds: 3 }, large: { ops: 100_000, rounds: 7 } } as const;
// databank-redis has no key prefix (keys are `<type>:<id>`): a database of its own (others use
// 0, 9, 11, 12, 13) and types named skbench_*; connect-databank's type is always `session`.
const REDIS = new URL(process.env.SESSIONKIT_REDIS_URL ?? "redis://127.0.0.1:6379");
const REDIS_DB = 14;
type Method = keyof DatabankLike;
const METHODS = "connect disconnect create read update save del readAll scan incr".split(" ") as Method[];

type Saved = { payload: string; expiresAt: number };

async function bank(driver: string): Promise<DatabankLike> {
  const params =
    driver === "redis" ? { host: REDIS.hostname, port: Number(REDIS.port || 6379), database: REDIS_DB } : {};
  const b = Databank.get(driver, params);
  await fromCallback((cb) => b.connect({}, cb));
  if (driver !== "redis") return b;
  // The adapter refuses a databank-redis bank (a Redis outage ends the process): its methods,
  // handed over as a plain object, measure the cost only (every contender gets the same object).
  return methodsOf(b);
}

/** `b`'s methods as a plain object, each call counted by `count` when given. */
function methodsOf(b: DatabankLike, count?: () => void): DatabankLike {
  const methods = METHODS.map((m) => {
    const call = (b[m] as (...args: unknown[]) => unknown).bind(b);
    const counted = (...args: unknown[]) => {
      count?.();
      return call(...args);
    };
    return [m, count ? counted : call];
  });
  return Object.fromEntries(methods) as unknown as DatabankLike;
}

/** save of `{ payload, expiresAt }`, read + JSON.parse + expiry check, touch as read + save, del. */
function raw(name: string, b: DatabankLike, type: string): Contender {
  const missing = (e: unknown) => {
    if ((e as { name?: string }).name === "NoSuchThingError") return null;
    throw e;
  };
  return {
    name,
    ops: {
      set: (id, s) =>
        fromCallback((cb) =>
          b.save(type, id, { payload: JSON.stringify(s), expiresAt: s.cookie.expires.getTime() }, cb),
        ),
      get: async (id) => {
        const r = (await fromCallback((cb) => b.read(type, id, cb)).catch(missing)) as Saved | null;
        return r && r.expiresAt > Date.now() ? JSON.parse(r.payload) : null;
      },
      touch: async (id, s) => {
        const r = (await fromCallback((cb) => b.read(type, id, cb))) as object;
        await fromCallback((cb) => b.save(type, id, { ...r, expiresAt: s.cookie.expires.getTime() }, cb));
      },
      destroy: (id) => fromCallback((cb) => b.del(type, id, cb)).catch(missing),
    },
    close: () => fromCallback((cb) => b.disconnect(cb)),
  };
}

async function contenders(driver: string): Promise<Contender[]> {
  const legacyBank = await bank(driver);
  const legacy = new DatabankStore(legacyBank, null, 0);
  // It adds `sid` to the object it is given: each call gets its own copy. It has no touch().
  const set = legacy.set.bind(legacy);
  legacy.set = (id: string, s: object, cb: unknown) => set(id, { ...s }, cb);
  const sk = await bank(driver);
  return [
    raw("raw databank", await bank(driver), "skbench_raw"),
    raw("control: raw databank", await bank(driver), "skbench_control"),
    storeContender("sessionkit", createStore(databankAdapter(sk, { type: "skbench_sk" }), { gcInterval: 0 }), () =>
      fromCallback((cb) => sk.disconnect(cb)),
    ),
    storeContender("connect-databank", legacy, () => fromCallback((cb) => legacyBank.disconnect(cb))),
  ];
}

/** Operations of each kind in the counting pass. */
const COUNTED = 1000;

/**
 * The databank calls each operation makes, sessionkit's and raw's, counted in an untimed pass on
 * banks of their own (set, get, touch, destroy of the same ids, 8 in flight): at in-memory speed
 * each call is most of an operation's cost, so these set the floor of each ratio.
 */
async function callsPerOp(driver: string, log: (m: string) => void): Promise<string> {
  let calls = 0;
  const counting = (b: DatabankLike) =>
    methodsOf(b, () => {
      calls++;
    });
  const [skBank, rawBank] = [await bank(driver), await bank(driver)];
  const sk = createStore(databankAdapter(counting(skBank), { type: "skbench_calls_sk" }), { gcInterval: 0 });
  const counted = [
    storeContender("sessionkit", sk, () => fromCallback((cb) => skBank.disconnect(cb))),
    raw("raw", counting(rawBank), "skbench_calls_raw"),
  ];
  const sessionFor = sessions();
  const perOp: string[] = [];
  try {
    for (const c of counted) {
      const counts = [];
      for (const op of OPS) {
        const fn = c.ops[op] as NonNullable<Contender["ops"][string]>;
        calls = 0;
        await timed((i) => fn(`calls-${i}`, sessionFor(op)), COUNTED, 8);
        counts.push(`${op} ${Number((calls / COUNTED).toFixed(2))}`);
      }
      perOp.push(`${c.name} ${counts.join(", ")}`);
    }
  } finally {
    await closeAll(counted, log);
  }
  return `databank calls per operation (counted in an untimed pass of ${COUNTED.toLocaleString("en")} each): ${perOp.join("; ")}. sessionkit's set of a new session reads the tombstone type before its create and again alongside it (a logout is final), and appends to the expiry index (one incr and one chunk per batch of ids); its destroy creates a tombstone alongside the delete.`;
}

export const bench: Benchmark = async (ctx) => {
  const options = { ...SIZES[ctx.size], concurrency: 8 };
  const more = [
    "raw: save of { payload, expiresAt } (+ JSON.stringify), read (+ JSON.parse, expiry check), touch as read + save, del: no expiry index, no ordering of a touch against other writes. control: the same code on its own bank.",
    "sessionkit: createStore(databankAdapter(bank)) with its defaults (expiry index for GC, tombstones). connect-databank 1.0.3 has no touch (express-session then skips it).",
  ];
  const memory = await compareSection("databank (memory driver)", await contenders("memory"), options, ctx.log, {
    setup: "a bank per contender",
    more: [...more, await callsPerOp("memory", ctx.log)],
  });
  const redis = await cleanAround(
    async () =>
      compareSection("databank-redis 0.19.6", await contenders("redis"), options, ctx.log, {
        setup: `a bank (connection) per contender, Redis database ${REDIS_DB}`,
        more: [
          ...more,
          await callsPerOp("redis", ctx.log),
          "databankAdapter refuses databank-redis (a Redis outage ends the process): it is handed the bank's methods as a plain object, to measure the cost only.",
        ],
      }),
    { database: REDIS_DB, match: ["skbench_*", "session:*"] },
  );
  return [memory, redis];
};
