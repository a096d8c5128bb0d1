import { setImmediate as realImmediate } from "node:timers/promises";
import { createStore, ErrorCodes } from "@sessionkit/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { capturingLogger, instrumentedBackend } from "./helpers.js";

async function seedExpired(inner: ReturnType<typeof instrumentedBackend>["inner"], n: number, live = 0) {
  for (let i = 0; i < n; i++)
    await inner.upsert({ id: `old-${i}`, payload: "{}", expiresAt: Date.now() - 1, owner: null, now: 0 });
  for (let i = 0; i < live; i++)
    await inner.upsert({ id: `live-${i}`, payload: "{}", expiresAt: Date.now() + 3_600_000, owner: null, now: 0 });
}

/** `pruned`, settled by fake time for the batches (`step` ms at a time) and a real turn of the event loop for the GC's yield between them. */
async function withFakeTime<T>(pruned: Promise<T>, step: number): Promise<T> {
  let done = false;
  const settled = () => {
    done = true;
  };
  pruned.then(settled, settled);
  while (!done) {
    await vi.advanceTimersByTimeAsync(step);
    await realImmediate();
  }
  return pruned;
}

describe("garbage collection", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("runs in the background, with the interval jittered down to half", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0); // the earliest jitter: 0.5 x interval
    const { backend, inner, count } = instrumentedBackend();
    await seedExpired(inner, 3, 2);
    const store = createStore(backend, { gcInterval: 1000 });
    await vi.advanceTimersByTimeAsync(499);
    expect(count("deleteExpired")).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(count("deleteExpired")).toBe(1);
    expect(await inner.count(Date.now())).toBe(2);
    await store.close();
  });

  it("and up to one and a half times the interval", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    const { backend, count } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 1000 });
    await vi.advanceTimersByTimeAsync(1498);
    expect(count("deleteExpired")).toBe(0);
    await vi.advanceTimersByTimeAsync(2);
    expect(count("deleteExpired")).toBe(1);
    await store.close();
  });

  it("deletes in batches until a short batch, growing quick ones, and prune() resolves with the total", async () => {
    const { backend, inner, calls } = instrumentedBackend();
    await seedExpired(inner, 25, 5);
    const store = createStore(backend, { gcInterval: 0, gcBatchSize: 10 });
    expect(await store.prune()).toBe(25);
    // A full batch far quicker than gcBatchTime makes the next one larger (at most 4 times).
    expect(calls.filter((c) => c.method === "deleteExpired").map((c) => c.args[1])).toEqual([10, 40]);
    expect(await store.length()).toBe(5);
    await store.close();
  });

  it("starts each run at most at gcBatchSize, and keeps a smaller size a slow run learned", async () => {
    const sizes = (calls: Array<{ method: string; args: unknown[] }>) =>
      calls.filter((c) => c.method === "deleteExpired").map((c) => c.args[1]);
    const quick = instrumentedBackend();
    const store = createStore(quick.backend, { gcInterval: 0, gcBatchSize: 10, gcBatchTime: 100 });
    for (const _run of [1, 2]) {
      await seedExpired(quick.inner, 25);
      expect(await store.prune()).toBe(25);
    }
    // The first run grew its batches; the second starts at gcBatchSize again, not at 40.
    expect(sizes(quick.calls)).toEqual([10, 40, 10, 40]);
    await store.close();

    const slow = instrumentedBackend();
    const slowStore = createStore(slow.backend, { gcInterval: 0, gcBatchSize: 400, gcBatchTime: 100 });
    slow.delay("deleteExpired", 400); // four times gcBatchTime
    await seedExpired(slow.inner, 500);
    expect(await withFakeTime(slowStore.prune(), 50)).toBe(500);
    slow.delay("deleteExpired", 0);
    await seedExpired(slow.inner, 50);
    expect(await slowStore.prune()).toBe(50);
    // 400 took 400 ms against 100: a quarter; the next run starts at that smaller size.
    expect(sizes(slow.calls)).toEqual([400, 100, 100, 100]);
    await slowStore.close();
  });

  it("uses the backend's declared batch size unless gcBatchSize is set", async () => {
    const declared = instrumentedBackend();
    Object.defineProperty(declared.backend, "capabilities", { value: { gcBatchSize: 7 } });
    await seedExpired(declared.inner, 10);
    const store = createStore(declared.backend, { gcInterval: 0 });
    expect(await store.prune()).toBe(10);
    expect(declared.calls.filter((c) => c.method === "deleteExpired").map((c) => c.args[1])).toEqual([7, 28]);
    await store.close();

    const overridden = instrumentedBackend();
    Object.defineProperty(overridden.backend, "capabilities", { value: { gcBatchSize: 7 } });
    const mine = createStore(overridden.backend, { gcInterval: 0, gcBatchSize: 3 });
    await mine.prune();
    expect(overridden.calls.find((c) => c.method === "deleteExpired")?.args[1]).toBe(3);
    await mine.close();

    const broken = instrumentedBackend();
    Object.defineProperty(broken.backend, "capabilities", { value: { gcBatchSize: 0 } });
    expect(() => createStore(broken.backend)).toThrow(/"backend.capabilities.gcBatchSize"/);
  });

  it("aims at the backend's declared batch time unless gcBatchTime is set", async () => {
    const run = async (gcBatchTime?: number) => {
      const { backend, inner, calls, delay } = instrumentedBackend();
      Object.defineProperty(backend, "capabilities", { value: { gcBatchSize: 100, gcBatchTime: 100 } });
      await seedExpired(inner, 300);
      delay("deleteExpired", 50); // every batch takes 50 ms, whatever its size
      const store = createStore(backend, { gcInterval: 0, ...(gcBatchTime ? { gcBatchTime } : {}) });
      expect(await withFakeTime(store.prune(), 10)).toBe(300);
      await store.close();
      return calls.filter((c) => c.method === "deleteExpired").map((c) => c.args[1]);
    };
    // 100 in 50 ms against a 100 ms target: twice as many next time.
    expect(await run()).toEqual([100, 200, 400]);
    // The option wins: against 10 ms, the batch stays at the floor.
    expect(await run(10)).toEqual([100, 100, 100, 100]);

    const broken = instrumentedBackend();
    Object.defineProperty(broken.backend, "capabilities", { value: { gcBatchTime: 0 } });
    expect(() => createStore(broken.backend)).toThrow(/"backend.capabilities.gcBatchTime"/);
  });

  it("never overlaps itself: a prune during a run joins it", async () => {
    const { backend, inner, count, delay } = instrumentedBackend();
    await seedExpired(inner, 5);
    delay("deleteExpired", 5000);
    const store = createStore(backend, { gcInterval: 0 });
    const first = store.prune();
    const second = store.prune();
    await vi.advanceTimersByTimeAsync(5000);
    expect(await first).toBe(5);
    expect(await second).toBe(5);
    expect(count("deleteExpired")).toBe(1);
    await store.close();
  });

  it("backs off exponentially while the backend fails, and recovers", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5); // no jitter: waits are exact multiples
    const { backend, fail, heal, count } = instrumentedBackend();
    const { logger, entries } = capturingLogger();
    fail("deleteExpired");
    const store = createStore(backend, { gcInterval: 1000, logger });
    await vi.advanceTimersByTimeAsync(1000);
    expect(count("deleteExpired")).toBe(1);
    await vi.advanceTimersByTimeAsync(1999); // second wait: 2 x interval
    expect(count("deleteExpired")).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(count("deleteExpired")).toBe(2);
    await vi.advanceTimersByTimeAsync(4000); // third wait: 4 x interval
    expect(count("deleteExpired")).toBe(3);
    heal();
    await vi.advanceTimersByTimeAsync(8000);
    expect(count("deleteExpired")).toBe(4); // succeeded: back to the plain interval
    await vi.advanceTimersByTimeAsync(1000);
    expect(count("deleteExpired")).toBe(5);
    expect(entries().filter((e) => e.level === 50 && e.op === "gc")).toHaveLength(3);
    await store.close();
  });

  it("prune() reports a failing backend as ERR_SESSION_BACKEND", async () => {
    const { backend, fail } = instrumentedBackend();
    fail("deleteExpired");
    const store = createStore(backend, { gcInterval: 0 });
    await expect(store.prune()).rejects.toMatchObject({ code: ErrorCodes.BACKEND });
    await store.close();
  });

  it("gcInterval 0 never collects in the background", async () => {
    const { backend, count } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0 });
    await vi.advanceTimersByTimeAsync(86_400_000);
    expect(count("deleteExpired")).toBe(0);
    await store.close();
  });

  it("the default interval is 10 minutes (±50%)", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const { backend, count } = instrumentedBackend();
    const store = createStore(backend);
    await vi.advanceTimersByTimeAsync(599_999);
    expect(count("deleteExpired")).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(count("deleteExpired")).toBe(1);
    await store.close();
  });

  it("close() stops it", async () => {
    const { backend, count } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 1000 });
    await vi.advanceTimersByTimeAsync(1);
    await store.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(count("deleteExpired")).toBe(0);
  });

  it("logs each run at info with the count and duration", async () => {
    const { backend, inner } = instrumentedBackend();
    const { logger, entries } = capturingLogger();
    await seedExpired(inner, 4);
    const store = createStore(backend, { gcInterval: 0, logger });
    await store.prune();
    expect(entries().find((e) => e.op === "gc")).toMatchObject({ level: 30, deleted: 4, ms: expect.any(Number) });
    await store.close();
  });

  it("logs a run that found nothing at debug, keeping the info log quiet", async () => {
    const { logger, entries } = capturingLogger();
    const store = createStore(instrumentedBackend().backend, { gcInterval: 0, logger });
    expect(await store.prune()).toBe(0);
    expect(entries().find((e) => e.op === "gc")).toMatchObject({ level: 20, deleted: 0 });
    await store.close();
  });
});

describe("batch sizing", () => {
  it("aims at gcBatchTime from the pace measured, at most 4x per step, within the floor and the ceiling", async () => {
    const { nextBatch } = await import("../src/gc.js");
    expect(nextBatch(1000, 1000, 5, 10, 100)).toBe(2000); // twice as fast as needed: twice as many
    expect(nextBatch(1000, 1000, 20, 10, 100)).toBe(500); // twice as slow: half
    expect(nextBatch(1000, 1000, 1000, 10, 100)).toBe(250); // far too slow: a quarter at most per step
    expect(nextBatch(1000, 1000, 0, 10, 100)).toBe(4000); // instant: four times at most
    expect(nextBatch(200, 200, 100, 10, 100)).toBe(100); // never below the floor
    expect(nextBatch(90_000, 90_000, 1, 10, 100)).toBe(100_000); // never above the ceiling
    expect(nextBatch(1000, 10, 1, 10, 100)).toBe(1000); // a short, quick batch says nothing about pace
  });
});
