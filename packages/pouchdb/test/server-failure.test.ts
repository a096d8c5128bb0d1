import { createStore, ErrorCodes, type SessionkitStore, type StoreOptions } from "@sessionkit/core";
import { type PouchdbAdapterOptions, pouchdbAdapter } from "@sessionkit/pouchdb";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { capturingLogger, session } from "./support/logger.js";
import { startPouchdbServer, type TestCouch } from "./support/pouchdb-server.js";
import { startTcpProxy } from "./support/tcp-proxy.js";

// Always our own server (even with SESSIONKIT_COUCHDB_URL): these tests kill, freeze and hide it.
// On disk, so sessions survive a restart as they would on a real CouchDB.
let server: TestCouch;
beforeAll(async () => {
  server = await startPouchdbServer({ onDisk: true });
});
afterAll(async () => {
  server?.signal("SIGCONT");
  await server?.stop();
});

const stores: SessionkitStore[] = [];
afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
});

function storeOn(url: string, options: PouchdbAdapterOptions = {}, storeOptions: StoreOptions = {}) {
  const store = createStore(pouchdbAdapter(url, { requestTimeout: 1500, ...options }), {
    gcInterval: 0,
    ...storeOptions,
  });
  stores.push(store);
  return store;
}

const failureOf = (work: Promise<unknown>) =>
  work.then(
    () => undefined,
    (error: Error & { code?: string; cause?: Error }) => error,
  );

describe("a CouchDB server that goes away and comes back", () => {
  it("gives backend errors while down (never a crash or a hang), and works again once back", async () => {
    const store = storeOn(server.database("restart"));
    await store.set("before", session({ n: 1 }) as never);
    const inFlight = Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.set(`inflight-${i}`, session({ i }) as never)),
    );
    await server.kill();
    const settled = await inFlight;
    for (const outcome of settled) {
      if (outcome.status === "rejected") expect(outcome.reason).toMatchObject({ code: ErrorCodes.BACKEND });
    }
    await expect(store.get("before")).rejects.toMatchObject({ code: ErrorCodes.BACKEND });
    await expect(store.set("during", session() as never)).rejects.toMatchObject({ code: ErrorCodes.BACKEND });
    await expect(store.length()).rejects.toMatchObject({ code: ErrorCodes.BACKEND });

    await server.start();
    expect(await store.get("before")).toMatchObject({ n: 1 });
    await store.set("after", session({ n: 2 }) as never);
    expect(await store.get("after")).toMatchObject({ n: 2 });
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
    await store.set("frozen-session", session({ n: 1 }) as never);
    server.signal("SIGSTOP");
    try {
      const failure = await failureOf(store.get("frozen-session"));
      expect(failure).toMatchObject({ code: ErrorCodes.BACKEND });
      expect(failure?.cause?.message).toContain("request timed out after 1500 ms (option requestTimeout)");
    } finally {
      server.signal("SIGCONT");
    }
    expect(await store.get("frozen-session")).toMatchObject({ n: 1 });
  });
});

describe("a hung server: it accepts connections and never answers (a paused proxy)", () => {
  // The session ids are long: the core scrubs an operation's id from error text wherever it occurs.
  it("gives errors within requestTimeout or operationTimeout, whichever is shorter, and close() finishes", async () => {
    const proxy = await startTcpProxy({ host: "127.0.0.1", port: Number(new URL(server.url).port) });
    const url = `${proxy.url}/${new URL(server.database("hung")).pathname.slice(1)}`;
    const byRequest = storeOn(url, { requestTimeout: 300 }, { operationTimeout: 5000 });
    const byOperation = storeOn(url, { requestTimeout: 60_000 }, { operationTimeout: 300 });
    await byRequest.set("hung-session", session({ n: 1 }) as never);
    expect(await byOperation.get("hung-session")).toMatchObject({ n: 1 });
    proxy.pause();
    try {
      const request = await failureOf(byRequest.get("hung-session"));
      expect(request).toMatchObject({ code: ErrorCodes.BACKEND });
      expect(request?.cause?.message).toContain("request timed out after 300 ms");
      await expect(byRequest.set("hung-session", session({ n: 2 }) as never)).rejects.toMatchObject({
        code: ErrorCodes.BACKEND,
      });
      await expect(byOperation.get("hung-session")).rejects.toMatchObject({ code: ErrorCodes.TIMEOUT });
      await expect(byOperation.destroy("hung-session")).rejects.toMatchObject({ code: ErrorCodes.TIMEOUT });
      await byRequest.close();
      await byOperation.close();
    } finally {
      proxy.resume();
      await proxy.close();
    }
  });
});

describe("a database that does not exist yet", () => {
  it("is created by default", async () => {
    const url = server.database("created");
    const store = storeOn(url);
    await store.set("s", session() as never);
    expect((await fetch(url)).status).toBe(200);
  });

  it("fails clearly when createDatabase is false, and creates nothing", async () => {
    const url = server.database("not-created");
    const store = storeOn(url, { createDatabase: false });
    const failure = await failureOf(store.get("s"));
    expect(failure).toMatchObject({ code: ErrorCodes.BACKEND });
    expect(failure?.message).toMatch(/could not be opened: it does not exist \(and createDatabase is false\)/);
    expect((await fetch(url)).status).toBe(404);
  });
});

describe("ids CouchDB can't take in a URL path", () => {
  it(". and .. are stored under escaped ids; destroying them leaves the database alone", async () => {
    const url = server.database("dots");
    const store = storeOn(url);
    for (const id of [".", "..", "_design", "~"]) await store.set(id, session({ id }) as never);
    for (const id of [".", "..", "_design", "~"]) expect(await store.get(id)).toMatchObject({ id });
    const stored = (await (await fetch(`${url}/_all_docs`)).json()) as { rows: Array<{ id: string }> };
    expect(stored.rows.map((row) => row.id).sort()).toEqual(["_design/sessionkit", "~.", "~..", "~_design", "~~"]);
    for (const id of [".", ".."]) await store.destroy(id);
    expect((await fetch(url)).status).toBe(200);
    expect(await store.length()).toBe(2);
  });
});

describe("what leaves the adapter when the server fails", () => {
  it("never shows a session id, an owner or a session's contents, in logs (at trace level) or errors", async () => {
    const [sid, owner, contents] = ["sid SECRET/ü", "owner SECRET+ü", "contents SECRET ü"];
    const { logger, lines } = capturingLogger();
    const printed: unknown[] = [];
    const consoles = (["log", "info", "warn", "error", "debug"] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation((...args) => void printed.push(...args)),
    );
    const store = storeOn(server.database("secrets"), {}, { logger, owner: (s) => s.user as string });
    const data = () => session({ user: owner, note: contents }) as never;
    await store.set(sid, data());
    expect(await store.sessionsOf(owner)).toHaveLength(1);
    await server.kill();
    const outcomes = await Promise.allSettled([
      store.get(sid),
      store.set(sid, data()),
      store.touch(sid, data()),
      store.destroy(sid),
      store.destroyByOwner(owner),
      store.destroyOthers(owner, sid),
      store.sessionsOf(owner),
      store.length(),
      store.all(),
      store.ids(),
      store.prune(),
      store.clear(),
    ]);
    await server.start();
    for (const spy of consoles) spy.mockRestore();
    const errors = outcomes.map((outcome) => (outcome.status === "rejected" ? outcome.reason : outcome));
    for (const error of errors) expect(error).toMatchObject({ code: ErrorCodes.BACKEND });
    const described = (error: Error & { cause?: Error }) =>
      [error.message, error.stack, error.cause?.message, error.cause?.stack, JSON.stringify(error)].join("\n");
    const text = [...lines, ...errors.map(described), ...printed.map(String)].join("\n");
    expect(text).toContain("session backend failed"); // the failures were logged
    for (const secret of [sid, owner, contents]) {
      for (const form of [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]) {
        expect(text).not.toContain(form);
      }
    }
  });
});

describe("errors from the server", () => {
  it("arrive with the server's status and message when conflicts outlast the retries", async () => {
    const url = server.database("errors");
    const [a, b] = [pouchdbAdapter(url, { maxConflictRetries: 0 }), pouchdbAdapter(url)];
    await a.init();
    await b.init();
    const now = Date.now();
    const write = (payload: string) => ({ id: "s", payload, expiresAt: now + 60_000, owner: null, now });
    await a.upsert(write("{}"));
    await b.upsert(write("{}")); // a's cached revision is now stale
    await expect(a.upsert(write("{}"))).rejects.toMatchObject({ status: 409, message: "Document update conflict" });
    await Promise.all([a.close(), b.close()]);
  });
});
