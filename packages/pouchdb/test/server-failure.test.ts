import { createStore, ErrorCodes, type SessionkitStore } from "@sessionkit/core";
import { pouchdbAdapter } from "@sessionkit/pouchdb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPouchdbServer, type TestCouch } from "./support/pouchdb-server.js";

// Always our own server (even with SESSIONKIT_COUCHDB_URL): these tests kill and freeze it.
// On disk, so sessions survive the restart like they would on a real CouchDB.
let server: TestCouch;
beforeAll(async () => {
  server = await startPouchdbServer({ onDisk: true });
});
afterAll(async () => {
  server?.signal("SIGCONT");
  await server?.stop();
});

function session(data: object) {
  return { cookie: { originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000).toISOString() }, ...data };
}

const stores: SessionkitStore[] = [];
afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
});

function storeOn(url: string, options = {}) {
  const store = createStore(pouchdbAdapter(url, { requestTimeout: 1500, ...options }), { gcInterval: 0 });
  stores.push(store);
  return store;
}

describe("a CouchDB server that goes away and comes back", () => {
  it("gives backend errors while down (never a crash or a hang), and works again once back", async () => {
    const store = storeOn(server.database("restart"));
    await store.set("before", session({ n: 1 }) as never);

    // Requests in flight when the server dies, and requests made while it is down.
    const inFlight = Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.set(`inflight-${i}`, session({ i }) as never)),
    );
    await server.kill();
    const settled = await inFlight;
    for (const outcome of settled) {
      if (outcome.status === "rejected") expect(outcome.reason).toMatchObject({ code: ErrorCodes.BACKEND });
    }
    await expect(store.get("before")).rejects.toMatchObject({ code: ErrorCodes.BACKEND });
    await expect(store.set("during", session({}) as never)).rejects.toMatchObject({ code: ErrorCodes.BACKEND });
    await expect(store.length()).rejects.toMatchObject({ code: ErrorCodes.BACKEND });

    await server.start();
    expect(await store.get("before")).toMatchObject({ n: 1 });
    await store.set("after", session({ n: 2 }) as never);
    expect(await store.get("after")).toMatchObject({ n: 2 });
    // Every in-flight write that was acknowledged is really there.
    for (const [i, outcome] of settled.entries()) {
      if (outcome.status === "fulfilled") expect(await store.get(`inflight-${i}`)).toMatchObject({ i });
    }
  });

  it("a store made while the server is down starts working when it comes up", async () => {
    await server.kill();
    const store = storeOn(server.database("late"));
    await expect(store.get("x")).rejects.toMatchObject({ code: ErrorCodes.BACKEND });
    await server.start();
    await store.set("x", session({ ok: true }) as never);
    expect(await store.get("x")).toMatchObject({ ok: true });
  });

  it("a frozen server times out after requestTimeout instead of hanging, then recovers", async () => {
    const store = storeOn(server.database("frozen"));
    await store.set("s", session({ n: 1 }) as never);
    server.signal("SIGSTOP");
    try {
      const failure = await store.get("s").then(
        () => undefined,
        (error: Error & { cause?: Error }) => error,
      );
      expect(failure).toMatchObject({ code: ErrorCodes.BACKEND });
      expect(failure?.cause?.message).toContain("timed out after 1500 ms");
    } finally {
      server.signal("SIGCONT");
    }
    expect(await store.get("s")).toMatchObject({ n: 1 });
  });
});

describe("a database that does not exist yet", () => {
  it("is created by default", async () => {
    const url = server.database("created");
    const store = storeOn(url);
    await store.set("s", session({}) as never);
    expect((await fetch(url)).status).toBe(200);
  });

  it("fails clearly when createDatabase is false, and creates nothing", async () => {
    const url = server.database("not-created");
    const store = storeOn(url, { createDatabase: false });
    const failure = await store.get("s").then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failure).toMatchObject({ code: ErrorCodes.BACKEND });
    expect(failure?.message).toMatch(/does not exist \(and createDatabase is false\)/);
    expect((await fetch(url)).status).toBe(404);
  });
});

describe("errors from the server", () => {
  it("arrive as Errors carrying the server's message and status", async () => {
    const url = server.database("errors");
    const [a, b] = [pouchdbAdapter(url, { maxConflictRetries: 0 }), pouchdbAdapter(url)];
    await a.init();
    await a.upsert({ id: "s", payload: "{}", expiresAt: Date.now() + 60_000, owner: null });
    await b.upsert({ id: "s", payload: "{}", expiresAt: Date.now() + 60_000, owner: null });
    const failure = await a.upsert({ id: "s", payload: "{}", expiresAt: Date.now(), owner: null }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect(failure).toMatchObject({ status: 409, message: "Document update conflict" });
    // The same for a touch and a destroy whose cached revision another writer made stale.
    for (const write of [() => a.touch("s", Date.now() + 120_000, Date.now()), () => a.destroy("s")]) {
      await a.get("s");
      await b.upsert({ id: "s", payload: "{}", expiresAt: Date.now() + 60_000, owner: null });
      const error = await write().then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(Error);
      expect(error).toMatchObject({ status: 409, message: "Document update conflict" });
    }
    await Promise.all([a.close(), b.close()]);
  });
});
