import { createStore, ErrorCodes } from "@sessionkit/core";
import { describe, expect, it } from "vitest";
import { instrumentedBackend, sessionWith } from "./helpers.js";

describe("close()", () => {
  it("is idempotent and closes the backend once", async () => {
    const { backend, count } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0 });
    await Promise.all([store.close(), store.close()]);
    await store.close();
    expect(count("close")).toBe(1);
  });

  it("waits for operations under way, which complete normally", async () => {
    const { backend, inner, delay, calls } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0 });
    await store.get("warm-up");
    delay("upsert", 100);
    const write = store.set("a", sessionWith({ n: 1 }));
    await new Promise((r) => setImmediate(r));
    await store.close();
    await expect(write).resolves.toBeUndefined();
    expect(await inner.get("a", 0)).not.toBeNull();
    const order = calls.map((c) => c.method);
    expect(order.indexOf("upsert")).toBeLessThan(order.indexOf("close"));
  });

  it("waits for a garbage collection under way", async () => {
    const { backend, inner, delay, calls } = instrumentedBackend();
    await inner.upsert({ id: "old", payload: "{}", expiresAt: Date.now() - 1, owner: null, now: 0 });
    delay("deleteExpired", 100);
    const store = createStore(backend, { gcInterval: 0 });
    const pruning = store.prune();
    await new Promise((r) => setTimeout(r, 10));
    await store.close();
    expect(await pruning).toBe(1);
    const order = calls.map((c) => c.method);
    expect(order.lastIndexOf("deleteExpired")).toBeLessThan(order.indexOf("close"));
  });

  it("later operations fail with ERR_SESSION_CLOSED and reach no backend", async () => {
    const { backend, calls } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0 });
    await store.close();
    const before = calls.length;
    for (const run of [
      () => store.get("a"),
      () => store.set("a", sessionWith()),
      () => store.touch("a", sessionWith()),
      () => store.destroy("a"),
      () => store.length(),
      () => store.prune(),
      () => store.destroyByOwner("x"),
    ]) {
      await expect(run()).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
    }
    expect(calls.length).toBe(before);
  });

  it("reports a backend that fails to close", async () => {
    const { backend, fail } = instrumentedBackend();
    fail("close");
    const store = createStore(backend, { gcInterval: 0 });
    await expect(store.close()).rejects.toMatchObject({ code: ErrorCodes.BACKEND });
  });
});
