// databank's memory driver: sessionkit's databankAdapter against bare databank calls doing the
// minimal work of a store (the baseline), a control copy of them, and connect-databank.
import { createRequire } from "node:module";
import { createStore } from "@sessionkit/core";
import { fromCallback } from "@sessionkit/core/kit";
import { type DatabankLike, databankAdapter } from "@sessionkit/databank";
import { type Benchmark, type Contender, compareSection, storeContender } from "./harness.js";

const require = createRequire(import.meta.url);
const { Databank } = require("databank") as { Databank: { get(driver: string, params: object): DatabankLike } };
const DatabankStore = require("connect-databank")(require("express-session"));

const SIZES = { small: { ops: 10_000, rounds: 3 }, large: { ops: 50_000, rounds: 7 } } as const;

type Saved = { payload: string; expiresAt: number };

async function bank(): Promise<DatabankLike> {
  const b = Databank.get("memory", {});
  await fromCallback((cb) => b.connect({}, cb));
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
        fromCallback((cb) =>
          b.save("s", id, { payload: JSON.stringify(s), expiresAt: s.cookie.expires.getTime() }, cb),
        ),
      get: async (id) => {
        const r = (await fromCallback((cb) => b.read("s", id, cb)).catch(missing)) as Saved | null;
        return r && r.expiresAt > Date.now() ? JSON.parse(r.payload) : null;
      },
      touch: async (id, s) => {
        const r = (await fromCallback((cb) => b.read("s", id, cb))) as object;
        await fromCallback((cb) => b.save("s", id, { ...r, expiresAt: s.cookie.expires.getTime() }, cb));
      },
      destroy: (id) => fromCallback((cb) => b.del("s", id, cb)).catch(missing),
    },
  };
}

export const bench: Benchmark = async (ctx) => {
  const legacy = new DatabankStore(await bank(), null, 0);
  // It adds `sid` to the object it is given: each call gets its own copy. It has no touch().
  const set = legacy.set.bind(legacy);
  legacy.set = (id: string, s: object, cb: unknown) => set(id, { ...s }, cb);
  const contenders = [
    raw("raw databank", await bank()),
    raw("control: raw databank", await bank()),
    storeContender("sessionkit", createStore(databankAdapter(await bank()), { gcInterval: 0 })),
    storeContender("connect-databank", legacy),
  ];
  const options = { ...SIZES[ctx.size], concurrency: 8 };
  return [
    await compareSection("databank (memory driver)", contenders, options, ctx.log, {
      setup: "a bank per contender",
      more: [
        "raw: save of { payload, expiresAt } (+ JSON.stringify), read (+ JSON.parse, expiry check), touch as read + save, del: no expiry index, no ordering of a touch against other writes. control: the same code on its own bank.",
        "sessionkit: createStore(databankAdapter(bank)) with its defaults (expiry index for GC, tombstones). connect-databank 1.0.3 has no touch (express-session then skips it).",
      ],
    }),
  ];
};
