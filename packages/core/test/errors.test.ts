import { createStore, ErrorCodes, isSessionStoreError, memoryBackend, SessionStoreError } from "@sessionkit/core";
import { describe, expect, it } from "vitest";
import { deepFreeze, expectNoStrayErrors, instrumentedBackend, sessionWith } from "./helpers.js";

describe("errors reach the caller with a stable code, never as a throw", () => {
  expectNoStrayErrors();

  it("bad ids: not a string, empty, too long", async () => {
    const store = createStore(memoryBackend(), { gcInterval: 0 });
    for (const id of [undefined, null, 42, {}, "", "x".repeat(256)]) {
      await expect(store.get(id as never)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ID });
      await expect(store.set(id as never, sessionWith())).rejects.toMatchObject({ code: ErrorCodes.INVALID_ID });
      await expect(store.touch(id as never, sessionWith())).rejects.toMatchObject({ code: ErrorCodes.INVALID_ID });
      await expect(store.destroy(id as never)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ID });
    }
    await store.close();
  });

  it("unserializable sessions: circular, BigInt, not an object; nothing is written", async () => {
    const { backend, count } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0 });
    const circular: Record<string, unknown> = sessionWith();
    circular.self = circular;
    for (const bad of [circular, sessionWith({ n: 10n }), null, "text"]) {
      const error = await store.set("a", bad as never).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: ErrorCodes.SERIALIZE });
    }
    const withCause = (await store.set("a", circular as never).catch((e: unknown) => e)) as SessionStoreError;
    expect(withCause.cause).toBeInstanceOf(TypeError);
    expect(count("upsert")).toBe(0);
    await store.close();
  });

  it("backend failures become ERR_SESSION_BACKEND with the driver's error as cause", async () => {
    const { backend, fail } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0, owner: (s) => s.user as string });
    await store.set("a", sessionWith());
    fail("get", "upsert", "touch", "destroy", "destroyByOwner", "clear", "deleteExpired", "count", "stream");
    const ops: Array<[string, () => Promise<unknown>]> = [
      ["get", () => store.get("a")],
      ["set", () => store.set("a", sessionWith())],
      ["touch", () => store.touch("a", sessionWith())],
      ["destroy", () => store.destroy("a")],
      ["destroyByOwner", () => store.destroyByOwner("u")],
      ["clear", () => store.clear()],
      ["prune", () => store.prune()],
      ["length", () => store.length()],
      ["all", () => store.all()],
      ["ids", () => store.ids()],
    ];
    for (const [op, run] of ops) {
      const error = await run().catch((e: unknown) => e);
      expect(isSessionStoreError(error, ErrorCodes.BACKEND), op).toBe(true);
      expect((error as SessionStoreError).message).toContain(`during ${op}`);
      expect((error as SessionStoreError).cause).toBeInstanceOf(Error);
    }
    await store.close();
  });

  it("a driver that rejects with a plain object still gives a readable message and the object as cause", async () => {
    const { backend } = instrumentedBackend();
    const plain = { status: 503, message: "service unavailable" };
    backend.get = async () => {
      throw plain;
    };
    const store = createStore(backend, { gcInterval: 0 });
    const error = (await store.get("a").catch((e: unknown) => e)) as SessionStoreError;
    expect(error.code).toBe(ErrorCodes.BACKEND);
    expect(error.message).toContain("service unavailable");
    // The cause is a scrubbed copy (the driver's own object may quote ids or statements).
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.cause).toMatchObject({ message: "service unavailable", code: 503 });
    await store.close();
  });

  it("the store works again once the backend recovers", async () => {
    const { backend, fail, heal } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0 });
    await store.set("a", sessionWith({ n: 1 }));
    fail("get");
    await expect(store.get("a")).rejects.toMatchObject({ code: ErrorCodes.BACKEND });
    heal();
    expect(await store.get("a")).toMatchObject({ n: 1 });
    await store.close();
  });

  it("a failed init is reported to the operation and retried by the next one", async () => {
    const { backend, fail, heal, count } = instrumentedBackend();
    fail("init");
    const store = createStore(backend, { gcInterval: 0 });
    await expect(store.get("a")).rejects.toMatchObject({ code: ErrorCodes.BACKEND });
    heal();
    expect(await store.get("a")).toBeNull();
    expect(count("init")).toBeGreaterThanOrEqual(2);
    await store.close();
  });

  it("destroyByOwner on a backend without owners fails with ERR_SESSION_UNSUPPORTED", async () => {
    const { backend, count } = instrumentedBackend();
    Object.defineProperty(backend, "capabilities", { value: { owners: false } });
    const store = createStore(backend, { gcInterval: 0 });
    await expect(store.destroyByOwner("u")).rejects.toMatchObject({ code: ErrorCodes.UNSUPPORTED });
    expect(count("destroyByOwner")).toBe(0);
    await store.close();
  });

  it("the owner option on a backend without owners is a config error, not a silent no-op", () => {
    const { backend } = instrumentedBackend();
    Object.defineProperty(backend, "capabilities", { value: { owners: false } });
    expect(() => createStore(backend, { owner: (s) => s.user as string })).toThrow(
      /option "owner" is set, but backend/,
    );
  });

  it("every method also takes a callback, which receives the same error or value", async () => {
    const store = createStore(memoryBackend(), { gcInterval: 0, owner: (s) => s.user });
    const call = <T>(f: (cb: (err: unknown, v?: T) => void) => unknown) =>
      new Promise<[unknown, T | undefined]>((resolve) => {
        const returned = f((err, v) => resolve([err, v]));
        expect(returned).toBeUndefined();
      });
    expect(await call((cb) => store.set("a", sessionWith({ n: 1 }), cb))).toEqual([null, undefined]);
    expect((await call((cb) => store.get("a", cb)))[1]).toMatchObject({ n: 1 });
    expect(await call((cb) => store.touch("a", sessionWith(), cb))).toEqual([null, undefined]);
    expect(await call((cb) => store.length(cb))).toEqual([null, 1]);
    expect(await call((cb) => store.ids(cb))).toEqual([null, ["a"]]);
    expect(Object.keys((await call<object>((cb) => store.all(cb)))[1] ?? {})).toEqual(["a"]);
    expect(await call((cb) => store.prune(cb))).toEqual([null, 0]);
    expect(await call((cb) => store.destroyByOwner("nobody", cb))).toEqual([null, 0]);
    expect(await call((cb) => store.destroyOthers("nobody", "a", cb))).toEqual([null, 0]);
    expect(await call((cb) => store.sessionsOf("nobody", cb))).toEqual([null, []]);
    expect(await call((cb) => store.destroy("a", cb))).toEqual([null, undefined]);
    expect(await call((cb) => store.clear(cb))).toEqual([null, undefined]);
    const [err] = await call((cb) => store.get(7 as never, cb));
    expect(err).toMatchObject({ code: ErrorCodes.INVALID_ID });
    expect(await call((cb) => store.close(cb))).toEqual([null, undefined]);
    const [closedErr] = await call((cb) => store.get("a", cb));
    expect(closedErr).toMatchObject({ code: ErrorCodes.CLOSED });
  });

  it("no method throws synchronously, whatever it is given", () => {
    const store = createStore(memoryBackend(), { gcInterval: 0 });
    const swallow = (p: unknown) => (p as Promise<unknown>).catch(() => {});
    expect(() => swallow(store.get(Symbol() as never))).not.toThrow();
    expect(() => swallow(store.set("a", undefined as never))).not.toThrow();
    expect(() => swallow(store.touch("a", 5 as never))).not.toThrow();
    expect(() => swallow(store.destroyByOwner(undefined as never))).not.toThrow();
    expect(() => store.get(undefined as never, () => {})).not.toThrow();
    return store.close();
  });

  it("a backend that throws synchronously or returns no promise gives an error or an answer, not a throw", async () => {
    const backend = memoryBackend();
    await backend.init();
    const boom = new Error("sync boom");
    const broken = {
      name: "broken",
      init: () => Promise.resolve(),
      get: () => null as never,
      destroyByOwner: backend.destroyByOwner.bind(backend),
      listByOwner: backend.listByOwner.bind(backend),
      clear: backend.clear.bind(backend),
      deleteExpired: backend.deleteExpired.bind(backend),
      count: backend.count.bind(backend),
      stream: backend.stream.bind(backend),
      close: backend.close.bind(backend),
      upsert: () => {
        throw boom;
      },
      touch: () => undefined as never,
      destroy: () => {
        throw boom;
      },
    };
    const store = createStore(broken, { gcInterval: 0 });
    await store.length(); // initialized: the operations below take the initialized path
    const failed = { code: ErrorCodes.BACKEND, cause: expect.objectContaining({ message: "sync boom" }) };
    await expect(store.set("a", sessionWith())).rejects.toMatchObject(failed);
    await expect(store.destroy("a")).rejects.toMatchObject(failed);
    await expect(store.touch("a", sessionWith())).resolves.toBeUndefined();
    await expect(store.get("a")).resolves.toBeNull();
    const [err] = await new Promise<unknown[]>((resolve) => store.set("a", sessionWith(), (...args) => resolve(args)));
    expect(err).toMatchObject(failed);
    await store.close();
  });

  it("the session passed to set is never mutated", async () => {
    const store = createStore(memoryBackend(), { gcInterval: 0, owner: (s) => s.user as string });
    const session = deepFreeze(sessionWith({ user: "u", nested: { list: [1, 2, 3] } }));
    const before = JSON.stringify(session);
    await store.set("a", session);
    await store.touch("a", session);
    expect(JSON.stringify(session)).toBe(before);
    await store.close();
  });

  it("errors are SessionStoreError instances with name, code and message", async () => {
    const store = createStore(memoryBackend(), { gcInterval: 0 });
    const error = (await store.get("").catch((e: unknown) => e)) as SessionStoreError;
    expect(error).toBeInstanceOf(SessionStoreError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("SessionStoreError");
    expect(error.message).toMatch(/session id must be 1 to 255 characters long, got 0/);
    await store.close();
  });
});
