import { setTimeout as sleep } from "node:timers/promises";
import { createStore, ErrorCodes, type SessionkitStore } from "@sessionkit/core";
import { redisAdapter } from "@sessionkit/redis";
import type { SessionData } from "express-session";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TcpProxy } from "../../../test-support/tcp-proxy.js";
import { scripts } from "../src/scripts.js";
import { dropPrefix, ioRedis, nodeRedis, REDIS_HOST, REDIS_PORT, redisGate, testPrefix } from "./support/redis.js";
import { serversGate, startServer, type TestServers } from "./support/servers.js";

const skip = await redisGate();
const serversSkip = await serversGate();
const HOUR = 3_600_000;
const CODES = new Set<string>(Object.values(ErrorCodes));

function session(fields: Record<string, unknown> = {}): SessionData {
  const expires = new Date(Date.now() + HOUR);
  return { cookie: { originalMaxAge: HOUR, expires, path: "/", httpOnly: true }, ...fields } as unknown as SessionData;
}

/** How a call settled: its value, or its error (which must carry one of the store's codes). */
async function settle(promise: Promise<unknown>): Promise<{ value?: unknown; code?: string }> {
  try {
    return { value: await promise };
  } catch (error) {
    const code = (error as { code?: string }).code;
    expect(CODES.has(code as string), `an error without a store code: ${String(error)}`).toBe(true);
    return { code: code as string };
  }
}

/** Waits (polling) until `check` passes: the client reconnecting by its own strategy. */
async function eventually(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error("did not recover in time");
    await sleep(50);
  }
}

type AnyClient = Awaited<ReturnType<typeof nodeRedis>> | Awaited<ReturnType<typeof ioRedis>>;
const closeClient = async (client: AnyClient | undefined) => {
  if (!client) return;
  if ("quit" in client && typeof client.quit === "function" && "status" in client) client.disconnect();
  else await (client as Awaited<ReturnType<typeof nodeRedis>>).destroy();
};

// Crashes and unhandled rejections anywhere in this file fail it.
const unexpected: unknown[] = [];
const record = (error: unknown) => unexpected.push(error);
beforeAll(() => {
  process.on("uncaughtException", record);
  process.on("unhandledRejection", record);
});
afterAll(() => {
  process.off("uncaughtException", record);
  process.off("unhandledRejection", record);
  expect(unexpected).toEqual([]);
});

const clients = [
  ["node-redis", "default offline queue", (port: number) => nodeRedis({ port })],
  ["node-redis", "disableOfflineQueue", (port: number) => nodeRedis({ port, disableOfflineQueue: true })],
  ["ioredis", "default offline queue", (port: number) => ioRedis({ port })],
  ["ioredis", "enableOfflineQueue: false", (port: number) => ioRedis({ port, enableOfflineQueue: false })],
] as const;

/** Whether the client says it is connected and ready (node-redis isReady, ioredis status), by its public API. */
const isReady = (client: AnyClient) => ("status" in client ? client.status === "ready" : client.isReady);

describe.skipIf(skip).each(clients)("Redis away, hung, and back (%s, %s)", (name, config, connect) => {
  const proxy = new TcpProxy(REDIS_HOST, REDIS_PORT);
  const prefix = testPrefix(`fault-${name}-${config.length}`);
  let client: AnyClient;
  let store: SessionkitStore;
  const failFast = config !== "default offline queue";

  beforeAll(async () => {
    await proxy.start();
    client = await connect(proxy.port);
    store = createStore(redisAdapter(client, { prefix }), { gcInterval: 0, operationTimeout: 300 });
  });
  afterAll(async () => {
    proxy.resume();
    await proxy.start().catch(() => {});
    await store?.close().catch(() => {});
    // The client first: a write its offline queue still holds must not land after the cleanup.
    await closeClient(client);
    const cleaner = await nodeRedis();
    await dropPrefix(cleaner, prefix);
    await cleaner.close();
    await proxy.stop();
  });

  const everyKind = () => [
    settle(store.get("before")),
    settle(store.set("during", session({ n: 2 }))),
    settle(store.touch("before", session({ n: 1 }))),
    settle(store.destroy("other")),
    settle(store.length()),
    settle(store.ids()),
  ];

  it("fails every call while Redis is away, and works again when it is back", async () => {
    await store.set("before", session({ n: 1 }));
    await proxy.stop();
    // Without an offline queue a call fails at once once the client knows it is disconnected (a
    // command already written when the connection dropped may wait for the reconnect: a timeout).
    if (failFast) await eventually(async () => !isReady(client));
    const outcomes = await Promise.all(everyKind());
    for (const outcome of outcomes) {
      expect(outcome.code, JSON.stringify(outcome)).toMatch(
        failFast ? ErrorCodes.BACKEND : /^ERR_SESSION_(BACKEND|TIMEOUT)$/,
      );
    }
    await proxy.start();
    await eventually(async () => (await store.get("before")) !== null);
    expect(await store.get("before")).toMatchObject({ n: 1 });
    await store.set("after", session({ n: 3 }));
    expect(await store.get("after")).toMatchObject({ n: 3 });
  });

  it("gives timeouts, not hangs, while Redis accepts and never answers; then answers again", async () => {
    proxy.pause();
    const outcomes = await Promise.all(everyKind());
    for (const outcome of outcomes) expect(outcome.code).toBe(ErrorCodes.TIMEOUT);
    proxy.resume();
    await eventually(async () => (await store.get("before")) !== null);
    await store.set("after-hang", session({ n: 4 }));
    expect(await store.get("after-hang")).toMatchObject({ n: 4 });
  });
});

describe.skipIf(skip)("the adapter leaves the client's listeners alone", () => {
  it.each([
    ["node-redis", () => nodeRedis()],
    ["ioredis", () => ioRedis()],
  ] as const)("%s", async (_name, connect) => {
    const client = await connect();
    const listeners = () => Object.fromEntries(client.eventNames().map((e) => [String(e), client.listenerCount(e)]));
    const before = listeners();
    const prefix = testPrefix(`listeners-${_name}`);
    const store = createStore(redisAdapter(client, { prefix }), { gcInterval: 0 });
    await store.set("x", session());
    await store.get("x");
    await store.length();
    await store.clear();
    await store.close();
    expect(listeners()).toEqual(before);
    await closeClient(client);
  });
});

describe.skipIf(skip)("ioredis without an error listener", () => {
  it("prints its error and goes on: calls fail while Redis is away, the process lives", async () => {
    const proxy = new TcpProxy(REDIS_HOST, REDIS_PORT);
    await proxy.start();
    const printed = vi.spyOn(console, "error").mockImplementation(() => {});
    const { Redis } = await import("ioredis");
    const client = new Redis({ host: "127.0.0.1", port: proxy.port, db: 9, retryStrategy: () => 100 });
    const prefix = testPrefix("no-listener");
    const store = createStore(redisAdapter(client, { prefix }), { gcInterval: 0, operationTimeout: 300 });
    try {
      await store.set("s", session({ n: 1 }));
      await proxy.stop();
      expect((await settle(store.get("s"))).code).toMatch(/^ERR_SESSION_(BACKEND|TIMEOUT)$/);
      await eventually(async () =>
        printed.mock.calls.some((call) => String(call[0]).includes("[ioredis] Unhandled error event")),
      );
      await proxy.start();
      await eventually(async () => (await store.get("s")) !== null);
    } finally {
      printed.mockRestore();
      await store.clear().catch(() => {});
      await store.close().catch(() => {});
      client.disconnect();
      await proxy.stop();
    }
  });
});

describe.skipIf(serversSkip).each([
  ["node-redis", (port: number) => nodeRedis({ port })],
  ["ioredis", (port: number) => ioRedis({ port })],
] as const)("a Redis of the test's own restarted empty, or its scripts flushed (%s)", (name, connect) => {
  let server: TestServers;
  let port: number;
  let client: AnyClient;
  let store: SessionkitStore;
  let admin: Awaited<ReturnType<typeof nodeRedis>>;

  beforeAll(async () => {
    server = await startServer();
    port = server.ports[0] as number;
    client = await connect(port);
    admin = await nodeRedis({ port });
    store = createStore(redisAdapter(client, { prefix: `restart-${name}:` }), { gcInterval: 0, operationTimeout: 500 });
  });
  afterAll(async () => {
    await store?.close().catch(() => {});
    await closeClient(client);
    await closeClient(admin);
    await server?.stop();
  });

  const loaded = async (which = Object.values(scripts)) =>
    (await admin.scriptExists(which.map((s) => s.sha))).every(Boolean);

  it("re-sends the scripts after SCRIPT FLUSH", async () => {
    await store.set("s", session({ n: 1 }));
    expect(await loaded()).toBe(true);
    await admin.scriptFlush();
    expect(await loaded()).toBe(false);
    expect(await store.get("s")).toMatchObject({ n: 1 }); // MGET: no script
    // A read the metadata can't answer (it says expired at that moment) runs the get script.
    expect((await store.backend.get("s", Date.now() + 2 * HOUR))?.payload).toContain('"n":1');
    await store.set("s", session({ n: 2 }));
    await store.touch("s", session({ n: 2 }));
    await store.destroy("s");
    expect(await store.get("s")).toBeNull();
    expect(await loaded([scripts.get, scripts.upsert, scripts.touch, scripts.destroy])).toBe(true);
  });

  it("fails while the server is down, and works once it runs again (empty, without scripts)", async () => {
    await store.set("s", session({ n: 1 }));
    await server.kill(port);
    for (const outcome of await Promise.all([settle(store.get("s")), settle(store.set("t", session()))])) {
      expect(outcome.code).toMatch(/^ERR_SESSION_(BACKEND|TIMEOUT)$/);
    }
    await server.restart(port);
    await eventually(async () => {
      await store.set("t", session({ n: 5 }));
      return true;
    });
    expect(await store.get("t")).toMatchObject({ n: 5 });
    expect(await store.get("s")).toBeNull(); // the restarted server kept nothing
  });
});

describe.skipIf(skip)("corrupt values under the prefix, written with the real client", () => {
  let redis: Awaited<ReturnType<typeof nodeRedis>>;
  let store: SessionkitStore;
  const prefix = testPrefix("corrupt");
  const key = (id: string) => `${prefix}${id}`;

  beforeAll(async () => {
    redis = await nodeRedis();
    store = createStore(redisAdapter(redis, { prefix }), { gcInterval: 0, owner: (s) => s.user as string });
    await store.set("good", session({ user: "gus", n: 1 }));
    await redis.set(key("not-json"), "{this is not json", { PX: HOUR });
    await redis.rPush(key("a-list"), ["x", "y"]);
    await redis.hSet(key("a-hash"), { cookie: "{}" });
    await store.set("bad-meta", session({ n: 2 }));
    await redis.del(`{${key("bad-meta")}}:m`);
    await redis.set(`{${key("bad-meta")}}:m`, "garbage");
    await store.set("hash-meta", session({ n: 3 }));
    await redis.del(`{${key("hash-meta")}}:m`);
    await redis.hSet(`{${key("hash-meta")}}:m`, { c: "yesterday", a: "", o: "" });
    await redis.set(`{${key("bad-tomb")}}:m`, "t not a time", { PX: HOUR });
    await redis.set(`{${prefix}hal}:o`, "not a sorted set", { PX: HOUR });
  });
  afterAll(async () => {
    await store?.close();
    if (redis) await dropPrefix(redis, prefix);
    await redis?.close();
  });

  it("every operation on every corrupt id settles: a value, missing, or an error with a code", async () => {
    for (const id of ["not-json", "a-list", "a-hash", "bad-meta", "hash-meta", "bad-tomb"]) {
      await settle(store.get(id));
      await settle(store.touch(id, session()));
      await settle(store.get(id));
      await settle(store.set(id, session({ n: 9 })));
      await settle(store.get(id));
      await settle(store.destroy(id));
    }
    await settle(store.sessionsOf("hal"));
    await settle(store.destroyByOwner("hal"));
    await settle(store.set("hal-1", session({ user: "hal" })));
  });

  it("reads what it can: unreadable payloads and other types as missing, bad metadata as absent", async () => {
    await redis.set(key("not-json-2"), "{this is not json", { PX: HOUR });
    await redis.rPush(key("a-list-2"), ["x", "y"]);
    expect(await store.get("not-json-2")).toBeNull();
    expect(await store.get("a-list-2")).toBeNull();
    await store.set("bad-meta-2", session({ user: "ida", n: 2 }));
    await redis.set(`{${key("bad-meta-2")}}:m`, "garbage");
    const record = await store.backend.get("bad-meta-2", Date.now());
    expect(record).toMatchObject({ owner: null });
    expect(record?.createdAt).toBeUndefined();
    expect(await store.get("bad-meta-2")).toMatchObject({ n: 2 });
    await store.set("hash-meta-2", session({ n: 3 }));
    await redis.del(`{${key("hash-meta-2")}}:m`);
    await redis.hSet(`{${key("hash-meta-2")}}:m`, { c: "yesterday", a: "" });
    expect((await store.backend.get("hash-meta-2", Date.now()))?.createdAt).toBeUndefined();
    await store.set("odd-meta-2", session({ n: 3 }));
    await redis.set(`{${key("odd-meta-2")}}:m`, "yesterday 12 someone");
    const odd = await store.backend.get("odd-meta-2", Date.now());
    expect(odd?.owner).toBeNull();
    expect(odd?.createdAt).toBeUndefined();
    await redis.set(`{${key("odd-meta-2")}}:m`, `12  ${Date.now() + HOUR} someone`); // a field left empty
    expect((await store.backend.get("odd-meta-2", Date.now()))?.createdAt).toBeUndefined();
    await store.touch("hash-meta-2", session({ n: 3 }));
    expect((await store.backend.get("hash-meta-2", Date.now()))?.createdAt).toBeTypeOf("number");
    // A write repairs the metadata; a write replaces another type under the key.
    await store.set("bad-meta-2", session({ user: "ida", n: 3 }));
    expect(await store.backend.get("bad-meta-2", Date.now())).toMatchObject({
      owner: "ida",
      createdAt: expect.any(Number),
    });
    await store.set("a-list-2", session({ n: 4 }));
    expect(await store.get("a-list-2")).toMatchObject({ n: 4 });
  });

  it("an unreadable tombstone holds (a logout stays final); an owner set of another type fails that owner only", async () => {
    await redis.set(`{${key("bad-tomb-2")}}:m`, "t not a time", { PX: HOUR });
    await store.set("bad-tomb-2", session({ n: 1 }));
    expect(await store.get("bad-tomb-2")).toBeNull();
    expect(await settle(store.set("hal-2", session({ user: "hal" })))).toEqual({ code: ErrorCodes.BACKEND });
    // Nothing of the failed write was left behind.
    expect(await redis.exists([key("hal-2"), `{${key("hal-2")}}:m`])).toBe(0);
    expect((await store.sessionsOf("gus")).map((s) => s.id)).toEqual(["good"]);
  });

  it("all, ids and length keep working for the other sessions", async () => {
    await redis.hSet(key("a-hash-3"), { cookie: "{}" });
    await redis.rPush(key("a-list-3"), ["x"]);
    await redis.set(key("not-json-3"), "{this is not json", { PX: HOUR });
    const ids = await store.ids();
    expect(ids).toContain("good");
    expect(ids).toContain("not-json-3"); // a live key, unreadable: listed by id, left out of all()
    expect(ids).not.toContain("a-hash-3");
    expect(ids).not.toContain("a-list-3");
    expect(await store.length()).toBe(ids.length);
    const all = await store.all();
    expect(all.good).toMatchObject({ user: "gus", n: 1 });
    expect(Object.keys(all)).not.toContain("not-json-3");
  });
});
