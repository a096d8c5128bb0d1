// In process: sessionkit's memoryBackend through createStore, against express-session's own
// MemoryStore (the baseline every express app starts with) and a second MemoryStore (the control).
import { createRequire } from "node:module";
import { createStore, memoryBackend } from "@sessionkit/core";
import { type Benchmark, compareSection, storeContender } from "./harness.js";

const require = createRequire(import.meta.url);
const { MemoryStore } = require("express-session") as { MemoryStore: new () => object };

const SIZES = { small: { ops: 20_000, rounds: 5 }, large: { ops: 100_000, rounds: 7 } } as const;

export const bench: Benchmark = async (ctx) => {
  const contenders = [
    storeContender("MemoryStore", new MemoryStore()),
    storeContender("control: MemoryStore", new MemoryStore()),
    storeContender("sessionkit", createStore(memoryBackend(), { gcInterval: 0 })),
  ];
  const title = "In memory: sessionkit memoryBackend vs express-session MemoryStore";
  const options = { ...SIZES[ctx.size], concurrency: 8 };
  const more = [
    "Every store is called with callbacks, as express-session calls it; sessionkit with its defaults (JSON, id validation, expiry checks, tombstones).",
  ];
  return [await compareSection(title, contenders, options, ctx.log, { more })];
};
