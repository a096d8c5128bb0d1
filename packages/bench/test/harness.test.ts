import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import {
  type Contender,
  closeAll,
  compare,
  compareSection,
  interleaved,
  median,
  probe,
  quantile,
  storeContender,
  timed,
} from "../src/harness.js";

describe("quantile", () => {
  it("interpolates between the nearest values, whatever their order", () => {
    expect(quantile([3, 1, 2], 0.5)).toBe(2);
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5], 0.25)).toBe(2);
    expect(quantile([10, 20], 0.25)).toBe(12.5);
    expect(median([7])).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
    // a probe during which no request finished has no p99: it doesn't make the median NaN
    expect(median([Number.NaN, 3, 5])).toBe(4);
  });
});

describe("compare", () => {
  /** A contender that records every call and answers after `ms`. */
  function recorder(name: string, calls: string[], ms = 0, ops = ["set", "get", "touch", "destroy"]): Contender {
    const op = (kind: string) => async (id: string) => {
      calls.push(`${name} ${kind} ${id}`);
      if (ms) await sleep(ms);
    };
    return { name, ops: Object.fromEntries(ops.map((k) => [k, op(k)])) };
  }

  it("passes touch a session whose cookie expires later than the one set stored, as a real touch does", async () => {
    const expiries: Record<string, number> = {};
    const op = (kind: string) => async (_id: string, s: { cookie: { expires: Date } }) => {
      expiries[kind] = s.cookie.expires.getTime();
    };
    await compare(
      [{ name: "a", ops: { set: op("set"), touch: op("touch") } }],
      { ops: 1, rounds: 1, concurrency: 1 },
      () => {},
    );
    expect(expiries.touch).toBeGreaterThan(expiries.set as number);
  });

  it("runs a warm-up round of a quarter of the operations, then rotates the contenders' order from round to round, ops in request order", async () => {
    const calls: string[] = [];
    const contenders = [recorder("a", calls), recorder("b", calls), recorder("c", calls)];
    await compare(contenders, { ops: 4, rounds: 2, concurrency: 1 }, () => {});
    const firsts = calls.filter((c) => c.endsWith("-0")).map((c) => c.split(" ").slice(0, 2).join(" "));
    // round 0 (warm-up): a b c; round 1: b c a (rotated by 3 × 1/2, rounded down); round 2: a b c; each op in turn.
    expect(firsts.filter((c) => c.endsWith(" set"))).toEqual([
      "a set",
      "b set",
      "c set",
      "b set",
      "c set",
      "a set",
      "a set",
      "b set",
      "c set",
    ]);
    expect(calls.slice(0, 4)).toEqual(["a set r0-0", "b set r0-0", "c set r0-0", "a get r0-0"]);
    const round = ["set", "get", "touch", "destroy"].flatMap((op) => [op, op, op, op]);
    const warmUp = ["set", "get", "touch", "destroy"];
    expect(calls.filter((c) => c.startsWith("a ")).map((c) => c.split(" ")[1])).toEqual([
      ...warmUp,
      ...round,
      ...round,
    ]);
  });

  it("rotates a long list by a share of it per round: every contender runs both early and late", async () => {
    const calls: string[] = [];
    const names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    await compare(
      names.map((n) => recorder(n, calls, 0, ["set"])),
      { ops: 1, rounds: 3, concurrency: 1 },
      () => {},
    );
    const timed = calls.filter((c) => !c.endsWith("r0-0")).map((c) => c.split(" ")[0]);
    for (const name of names) {
      const positions = [0, 1, 2].map((round) => timed.slice(round * 8, round * 8 + 8).indexOf(name as string));
      expect(Math.max(...positions) - Math.min(...positions), name).toBeGreaterThanOrEqual(4);
    }
  });

  it("reports each contender's median run per op, skipping ops a contender lacks, the warm-up discarded", async () => {
    const calls: string[] = [];
    const contenders = [recorder("fast", calls), recorder("slow", calls, 5, ["set", "get"])];
    const m = await compare(contenders, { ops: 20, rounds: 3, concurrency: 4 }, () => {});
    expect(m.map((x) => `${x.contender} ${x.op}`)).toEqual([
      "fast set",
      "slow set",
      "fast get",
      "slow get",
      "fast touch",
      "fast destroy",
    ]);
    const slow = m.find((x) => x.contender === "slow" && x.op === "get");
    // 20 ops of 5 ms with 4 in flight: at most 800 ops/s; p99 at least the 5 ms each takes.
    expect(slow?.opsPerSec).toBeLessThan(800);
    expect(slow?.p99Ms).toBeGreaterThanOrEqual(4.5);
    expect(calls.filter((c) => c.startsWith("slow get"))).toHaveLength(5 + 60); // warm-up (a quarter) + 3 rounds
  });

  it("interleaved: without a warm-up round, the medians of every figure a run answers, and a note made of them", async () => {
    const seen: string[] = [];
    let n = 0;
    const run = async (c: { name: string }, op: string, round: number) => {
      seen.push(`${round} ${op} ${c.name}`);
      return { opsPerSec: ++n, p99Ms: 1, idle: n * 10 };
    };
    const note = (m: Record<string, number>) => `idle ${m.idle}`;
    const m = await interleaved([{ name: "a" }, { name: "b" }], ["x"], 3, run, () => {}, { warmUp: false, note });
    expect(seen).toEqual(["1 x a", "1 x b", "2 x b", "2 x a", "3 x a", "3 x b"]);
    // a ran 1st, 4th, 5th: medians 4 and 40; b ran 2nd, 3rd, 6th: 3 and 30
    expect(m).toEqual([
      { contender: "a", op: "x", opsPerSec: 4, p99Ms: 1, note: "idle 40" },
      { contender: "b", op: "x", opsPerSec: 3, p99Ms: 1, note: "idle 30" },
    ]);
  });

  it("interleaved: a figure only some runs answer has the median of those runs", async () => {
    let n = 0;
    const run = async () => {
      n++;
      return { opsPerSec: n, ...(n >= 4 ? { idle: n * 10 } : {}) };
    };
    const note = (m: Record<string, number>) => `idle ${m.idle}`;
    const m = await interleaved([{ name: "a" }], ["x"], 5, run, () => {}, { warmUp: false, note });
    // opsPerSec 1..5: median 3; idle from the last two runs only (40, 50): 45
    expect(m).toEqual([{ contender: "a", op: "x", opsPerSec: 3, p99Ms: undefined, note: "idle 45" }]);
  });

  it("runs the operations a sequence names, in its order, and reports only those", async () => {
    const calls: string[] = [];
    const contenders = [recorder("a", calls, 0, ["login", "read", "set"])];
    const m = await compare(contenders, { ops: 4, rounds: 1, concurrency: 1, sequence: ["read", "login"] }, () => {});
    expect(m.map((x) => x.op)).toEqual(["read", "login"]);
    expect(calls.filter((c) => c.endsWith("r1-0"))).toEqual(["a read r1-0", "a login r1-0"]);
  });

  it("repeats an op over the same ids as many times as `repeat` says, the others once", async () => {
    const calls: string[] = [];
    await compare([recorder("a", calls)], { ops: 4, rounds: 1, concurrency: 1, repeat: { get: 3 } }, () => {});
    const timed = (op: string) => calls.filter((c) => c.startsWith(`a ${op} r1-`)).map((c) => c.split(" ")[2]);
    expect(timed("set")).toEqual(["r1-0", "r1-1", "r1-2", "r1-3"]);
    expect(timed("get")).toEqual(Array.from({ length: 12 }, (_, i) => `r1-${i % 4}`));
    expect(calls.filter((c) => c.startsWith("a get r0-"))).toHaveLength(3); // the warm-up: a quarter, repeated
  });
});

describe("compareSection", () => {
  it("makes the first contender the baseline and says how it measured before the other notes", async () => {
    const fast = (name: string): Contender => ({ name, ops: { get: async () => null } });
    const options = { ops: 1200, rounds: 2, concurrency: 3 };
    const section = await compareSection("T", [fast("a"), fast("b")], options, () => {}, {
      setup: "one each",
      more: ["x"],
    });
    expect(section).toMatchObject({ title: "T", baseline: "a" });
    expect(section.measurements.map((m) => `${m.contender} ${m.op}`)).toEqual(["a get", "b get"]);
    expect(section.notes).toEqual([
      "1,200 operations per run, 3 in flight, median of 2 interleaved rounds after a warm-up round; one each.",
      "x",
    ]);
    const closed: string[] = [];
    const closing = (name: string): Contender => ({ ...fast(name), close: async () => void closed.push(name) });
    const bare = await compareSection("T", [closing("a"), closing("b")], options, () => {}, { more: [] });
    expect(closed).toEqual(["a", "b"]); // closed once measured
    const failing = { name: "f", ops: { get: () => Promise.reject(new Error("down")) }, close: closing("f").close };
    await expect(compareSection("T", [failing], options, () => {}, { more: [] })).rejects.toThrow("down");
    expect(closed).toEqual(["a", "b", "f"]); // and when the measuring fails
    expect(bare.notes).toEqual([
      "1,200 operations per run, 3 in flight, median of 2 interleaved rounds after a warm-up round.",
    ]);
    const repeated = await compareSection("T", [fast("a")], { ...options, repeat: { get: 5 } }, () => {}, { more: [] });
    expect(repeated.notes).toEqual([
      "1,200 operations per run (get: 5 times as many, over the same ids), 3 in flight, median of 2 interleaved rounds after a warm-up round.",
    ]);
  });
});

describe("timed and probe", () => {
  it("timed runs every operation once, with the concurrency asked", async () => {
    const seen: number[] = [];
    let inFlight = 0;
    let most = 0;
    const r = await timed(
      async (i) => {
        seen.push(i);
        most = Math.max(most, ++inFlight);
        await sleep(1);
        inFlight--;
      },
      30,
      3,
    );
    expect(seen.sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(most).toBe(3);
    expect(r.opsPerSec).toBeGreaterThan(0);
  });

  it("timed starts on a plain major collection, not gc()'s default that also shrinks the heap", async () => {
    const scope = globalThis as { gc?: unknown };
    const own = scope.gc;
    const calls: unknown[] = [];
    scope.gc = (...args: unknown[]) => void calls.push(args);
    try {
      await timed(async () => {}, 1, 1);
    } finally {
      scope.gc = own;
    }
    expect(calls).toEqual([[{ type: "major" }]]);
  });

  it("probe keeps the traffic going exactly while the job runs, and passes its result and error on", async () => {
    let running = 0;
    const traffic = async () => {
      running++;
      await sleep(2);
      running--;
    };
    const r = await probe(traffic, 4, async () => {
      await sleep(50);
      return "pruned";
    });
    expect(r.result).toBe("pruned");
    expect(r.ops).toBeGreaterThan(8);
    expect(r.p99Ms).toBeGreaterThanOrEqual(1.5);
    expect(running).toBe(0); // every request finished before probe returned
    await expect(probe(traffic, 2, () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(running).toBe(0);
  });

  it("counts a stall of the event loop in the latency of the requests that arrive during it", async () => {
    // A synchronous driver's long statement holds the event loop: requests arriving meanwhile wait
    // for it, though each answers at once when its turn comes.
    const r = await probe(
      () => Promise.resolve(),
      4,
      async () => {
        await new Promise((resolve) => setImmediate(resolve));
        const until = performance.now() + 40;
        while (performance.now() < until);
      },
    );
    expect(r.ops).toBeGreaterThanOrEqual(4);
    expect(r.p99Ms).toBeGreaterThanOrEqual(40);
  });

  it("ends on time when every request answers at once (a synchronous driver)", async () => {
    const r = await probe(
      () => Promise.resolve(),
      2,
      () => sleep(20),
    );
    expect(r.ops).toBeGreaterThan(0);
  });
});

describe("storeContender", () => {
  it("calls a store with callbacks, rejects with its error, and leaves out a touch it lacks", async () => {
    const store = {
      get: (id: string, cb: (e: unknown, v?: unknown) => void) =>
        id === "bad" ? cb(new Error("nope")) : cb(null, { id }),
      set: (_id: string, _s: object, cb: (e: unknown) => void) => cb(null),
      destroy: (_id: string, cb: (e: unknown) => void) => cb(null),
    };
    const { ops } = storeContender("s", store);
    expect(Object.keys(ops).sort()).toEqual(["destroy", "get", "set"]);
    await expect(ops.get?.("x", {} as never)).resolves.toEqual({ id: "x" });
    await expect(ops.get?.("bad", {} as never)).rejects.toThrow("nope");
  });

  it("closing closes the store, then runs what comes after", async () => {
    const events: string[] = [];
    const store = {
      get: (id: string, cb: (e: unknown, v?: unknown) => void) => cb(null, { id }),
      set: (_id: string, _s: object, cb: (e: unknown) => void) => cb(null),
      destroy: (_id: string, cb: (e: unknown) => void) => cb(null),
      close: async () => void events.push("store"),
    };
    const c = storeContender("s", store, async () => events.push("client"));
    expect(c.name).toBe("s");
    await expect(c.ops.get?.("x", {} as never)).resolves.toEqual({ id: "x" });
    await c.close?.();
    expect(events).toEqual(["store", "client"]);
    await storeContender("t", store).close?.();
    expect(events).toEqual(["store", "client", "store"]);
    // a store without close(), e.g. connect-redis: only what comes after
    const { close: _, ...bare } = store;
    await storeContender("u", bare, async () => events.push("client")).close?.();
    expect(events).toEqual(["store", "client", "store", "client"]);
  });
});

describe("closeAll", () => {
  it("closes each contender once, whoever asks again, and logs a failed close without stopping", async () => {
    const closed: string[] = [];
    const contenders: Contender[] = ["a", "b", "c"].map((name) => ({
      name,
      ops: {},
      close: async () => {
        closed.push(name);
        if (name === "b") throw new Error("stuck");
      },
    }));
    const lines: string[] = [];
    await closeAll(contenders, (l) => lines.push(l));
    await closeAll(contenders, (l) => lines.push(l));
    expect(closed).toEqual(["a", "b", "c"]);
    expect(lines).toEqual(["could not close b: Error: stuck"]);
  });
});
