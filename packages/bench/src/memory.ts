// In process: sessionkit's memoryBackend through createStore, against express-session's own
// MemoryStore (the baseline every express app starts with) and a second MemoryStore (the control).
import { createRequire } from "node:module";
import { createStore, memoryBackend } from "@sessionkit/core";
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
const { MemoryStore } = require("express-session") as { MemoryStore: new () => CallbackStore };

const SIZES = { small: { ops: 20_000, rounds: 5 }, large: { ops: 100_000, rounds: 7 } } as const;
const CONCURRENCY = 8;

export const bench: Benchmark = async (ctx) => {
  const size = SIZES[ctx.size];
  const store = createStore(memoryBackend(), { gcInterval: 0 });
  const contenders: Contender[] = [
    { name: "MemoryStore", ops: viaCallbacks(new MemoryStore()) },
    { name: "control: MemoryStore", ops: viaCallbacks(new MemoryStore()) },
    storeContender("sessionkit", store),
  ];
  try {
    const title = "In memory: sessionkit memoryBackend vs express-session MemoryStore";
    return [
      await compareSection(title, contenders, { ...size, concurrency: CONCURRENCY }, ctx.log, {
        more: [
          "Every store is called with callbacks, as express-session calls it; sessionkit with its defaults (JSON, id validation, expiry checks, tombstones).",
        ],
      }),
    ];
  } finally {
    await closeAll(contenders, ctx.log);
  }
};
