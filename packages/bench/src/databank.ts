// databank's memory driver: sessionkit's databankAdapter against bare databank calls doing the
// minimal work of a store (the baseline), a control copy of them, and connect-databank.
import { createRequire } from "node:module";
import { createStore } from "@sessionkit/core";
import { type DatabankLike, databankAdapter } from "@sessionkit/databank";
import {
  type Benchmark,
  type CallbackStore,
  type Contender,
  closeAll,
  compareSection,
  storeContender,
  viaCallbacks,
} from "./harness.js";

const require = createRequire(import.meta.url);
const { Databank } = require("databank") as { Databank: { get(driver: string, params: object): DatabankLike } };
const DatabankStore = require("connect-databank")(require("express-session"));

const SIZES = { small: { ops: 10_000, rounds: 3 }, large: { ops: 50_000, rounds: 7 } } as const;
const CONCURRENCY = 8;

const call = (start: (cb: (e: unknown, v?: unknown) => void) => void) =>
  new Promise<unknown>((resolve, reject) => start((e, v) => (e ? reject(e) : resolve(v))));

async function bank(): Promise<DatabankLike> {
  const b = Databank.get("memory", {});
  await call((cb) => b.connect({}, cb));
  return b;
}

/** save of `{ payload, expiresAt }`, read + JSON.parse + expiry check, touch as read + save, del. */
function raw(name: string, b: DatabankLike): Contender {
  const missing = (e: unknown) => {
    if ((e as { name?: string }).name === "NoSuchThingError") return null;
    throw e;
  };
  return {
    name,
    ops: {
      set: (id, s) =>
        call((cb) => b.save("s", id, { payload: JSON.stringify(s), expiresAt: s.cookie.expires.getTime() }, cb)),
      get: async (id) => {
        const r = (await call((cb) => b.read("s", id, cb)).catch(missing)) as {
          payload: string;
          expiresAt: number;
        } | null;
        return r && r.expiresAt > Date.now() ? JSON.parse(r.payload) : null;
      },
      touch: async (id, s) => {
        const r = (await call((cb) => b.read("s", id, cb))) as object;
        await call((cb) => b.save("s", id, { ...r, expiresAt: s.cookie.expires.getTime() }, cb));
      },
      destroy: (id) => call((cb) => b.del("s", id, cb)).catch(missing),
    },
  };
}

export const bench: Benchmark = async (ctx) => {
  const size = SIZES[ctx.size];
  const store = createStore(databankAdapter(await bank()), { gcInterval: 0 });
  const legacy = new DatabankStore(await bank(), null, 0);
  const contenders: Contender[] = [
    raw("raw databank", await bank()),
    raw("control: raw databank", await bank()),
    storeContender("sessionkit", store),
    // It adds `sid` to the object it is given: each call gets its own copy. It has no touch().
    {
      name: "connect-databank",
      ops: { ...viaCallbacks(legacy as CallbackStore), set: (id, s) => call((cb) => legacy.set(id, { ...s }, cb)) },
      close: async () => legacy.close(),
    },
  ];
  try {
    return [
      await compareSection("databank (memory driver)", contenders, { ...size, concurrency: CONCURRENCY }, ctx.log, {
        setup: "a bank per contender",
        more: [
          "raw: save of { payload, expiresAt } (+ JSON.stringify), read (+ JSON.parse, expiry check), touch as read + save, del: no expiry index, no ordering of a touch against other writes. control: the same code on its own bank.",
          "sessionkit: createStore(databankAdapter(bank)) with its defaults (expiry index for GC, tombstones). connect-databank 1.0.3 has no touch (express-session then skips it).",
        ],
      }),
    ];
  } finally {
    await closeAll(contenders, ctx.log);
  }
};
