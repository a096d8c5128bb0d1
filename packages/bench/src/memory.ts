// In process: sessionkit's memoryBackend through createStore, against express-session's own
// MemoryStore (the baseline every express app starts with) and a second MemoryStore (the control).
import { createStore, memoryBackend } from "@sessionkit/core";
import session from "express-session";
import { type Benchmark, compareSection, storeContender } from "./harness.js";

const SIZES = { small: { ops: 50_000, rounds: 5 }, large: { ops: 200_000, rounds: 7 } } as const;

export const bench: Benchmark = async (ctx) => {
  const contenders = [
    storeContender("MemoryStore", new session.MemoryStore()),
    storeContender("control: MemoryStore", new session.MemoryStore()),
    storeContender("sessionkit", createStore(memoryBackend(), { gcInterval: 0 })),
  ];
  const title = "In memory: sessionkit memoryBackend vs express-session MemoryStore";
  const options = { ...SIZES[ctx.size], concurrency: 8 };
  const more = [
    "Every store is called with callbacks, as express-session calls it; sessionkit with its defaults (JSON, id validation, expiry checks, tombstones).",
  ];
  return [await compareSection(title, contenders, options, ctx.log, { more })];
};
