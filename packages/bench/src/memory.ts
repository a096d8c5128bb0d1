// In-process stores: sessionkit's memoryBackend through createStore, against express-session's
// own MemoryStore (the baseline every express app starts with) and the memorystore package.
import { createRequire } from "node:module";
import { createStore, memoryBackend } from "@sessionkit/core";
import {
  type Benchmark,
  type BenchSection,
  benchSession,
  type Measurement,
  measure,
  promisifyCallback,
} from "./harness.js";

const require = createRequire(import.meta.url);

type Callback = (err: unknown, value?: unknown) => void;
/** The callback API express-session calls a store through. */
interface CallbackStore {
  get(sid: string, cb: Callback): void;
  set(sid: string, session: object, cb: Callback): void;
  touch(sid: string, session: object, cb: Callback): void;
}

interface Contender {
  name: string;
  store: CallbackStore;
  close(): Promise<void>;
}

const SIZES = {
  small: { ops: 100_000, sessions: 1000, rounds: 3 },
  large: { ops: 500_000, sessions: 10_000, rounds: 5 },
} as const;
const CONCURRENCY = 8;

const OPS = ["get", "set", "touch"] as const;

/** The stores measured, each with what stops it (memorystore runs a sweep interval). */
function contenders(): Contender[] {
  const session = require("express-session") as { MemoryStore: new () => CallbackStore };
  const memorystore = require("memorystore") as (s: unknown) => new (
    options: object,
  ) => CallbackStore & {
    stopInterval(): void;
  };
  const sessionkit = createStore(memoryBackend());
  const MemoryStorePkg = memorystore(session);
  // checkPeriod is its expiry sweep (an interval it starts at once); one day keeps it out of the way.
  const lru = new MemoryStorePkg({ checkPeriod: 86_400_000 });
  return [
    { name: "express-session MemoryStore", store: new session.MemoryStore(), close: async () => {} },
    { name: "sessionkit", store: sessionkit as unknown as CallbackStore, close: () => sessionkit.close() },
    { name: "memorystore", store: lru, close: async () => lru.stopInterval() },
  ];
}

function operation(store: CallbackStore, op: (typeof OPS)[number], ids: string[], session: object) {
  const id = (i: number) => ids[i % ids.length] as string;
  switch (op) {
    case "get":
      return (i: number) => promisifyCallback((cb) => store.get(id(i), cb));
    case "set":
      return (i: number) => promisifyCallback((cb) => store.set(id(i), session, cb));
    case "touch":
      return (i: number) => promisifyCallback((cb) => store.touch(id(i), session, cb));
  }
}

export const bench: Benchmark = async (ctx) => {
  const size = SIZES[ctx.size];
  const all = contenders();
  try {
    const ids = Array.from({ length: size.sessions }, (_, i) => `bench-session-${i.toString().padStart(6, "0")}`);
    const session = benchSession();
    for (const c of all) {
      for (const id of ids) await promisifyCallback((cb) => c.store.set(id, session, cb));
    }
    // Best of interleaved rounds: every contender meets the same background noise.
    const best = new Map<string, Measurement>();
    for (let round = 1; round <= size.rounds; round++) {
      ctx.log(`round ${round}/${size.rounds}`);
      for (const op of OPS) {
        for (const c of all) {
          // measure() collects garbage before timing, so no contender pays for another's.
          const result = await measure(operation(c.store, op, ids, session), {
            ops: size.ops,
            concurrency: CONCURRENCY,
          });
          const key = `${c.name}\u0000${op}`;
          const previous = best.get(key);
          if (!previous || result.opsPerSec > previous.opsPerSec) {
            best.set(key, { contender: c.name, op, opsPerSec: result.opsPerSec, p99Ms: result.p99Ms });
          }
        }
      }
    }
    const measurements = OPS.flatMap((op) =>
      all.map((c) => best.get(`${c.name}\u0000${op}`)).filter((m): m is Measurement => m !== undefined),
    );
    const section: BenchSection = {
      title: "In memory: sessionkit memoryBackend vs express-session MemoryStore",
      baseline: "express-session MemoryStore",
      measurements,
      notes: [
        `${size.ops.toLocaleString("en")} operations per measurement over ${size.sessions.toLocaleString("en")} sessions, ${CONCURRENCY} in flight, best of ${size.rounds} interleaved rounds, a full GC before each measurement; sessions of about ${JSON.stringify(benchSession()).length} bytes of JSON.`,
        "Every store is called with callbacks, as express-session calls it. sessionkit: createStore(memoryBackend()) with its defaults (JSON serialization, id validation, expiry checks on read).",
        "express-session's MemoryStore keeps JSON strings and answers on setImmediate; memorystore 1.6.8 is an LRU cache with an expiry sweep (checkPeriod one day here).",
        "Target (issue 2): sessionkit at least 0.9× MemoryStore on get, set and touch.",
      ],
    };
    return [section];
  } finally {
    for (const c of all) await c.close().catch((error) => ctx.log(`could not close ${c.name}: ${String(error)}`));
  }
};
