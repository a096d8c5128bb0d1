import { backendConformance, payload, storeConformance, write } from "@sessionkit/conformance";
import { createStore, ErrorCodes, type SessionBackend } from "@sessionkit/core";
import { redisAdapter } from "@sessionkit/redis";
import type { SessionData } from "express-session";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scripts } from "../src/scripts.js";
import { recording } from "./support/recording.js";
import { ioRedisCluster, need, nodeRedisCluster } from "./support/redis.js";
import { serversGate, startCluster } from "./support/servers.js";

// One cluster of three masters for this file: every suite shares it, each under its own prefix.
const skip = await serversGate();
const cluster = skip ? undefined : await startCluster();
const nodeClient = cluster && (await nodeRedisCluster(cluster));
const ioClient = cluster && (await ioRedisCluster(cluster));
/** Plain clients to each master, to look at what is stored where. */
const nodes = cluster
  ? await Promise.all(
      cluster.ports.map(async (port) => {
        const node = createClient({ socket: { host: "127.0.0.1", port, reconnectStrategy: () => 100 } });
        node.on("error", () => {});
        await node.connect();
        return node;
      }),
    )
  : [];

afterAll(async () => {
  // destroy and disconnect, not close and quit: they need no answer from a master a test stopped.
  for (const node of nodes) node.destroy();
  nodeClient?.destroy();
  ioClient?.disconnect();
  await cluster?.stop();
});

const HOUR = 3_600_000;
const options = { skip, nativeExpiry: true } as const;
backendConformance("redis (node-redis, cluster)", () => redisAdapter(need(nodeClient), { prefix: "nr:" }), options);
backendConformance("redis (ioredis, cluster)", () => redisAdapter(need(ioClient), { prefix: "io:" }), options);
storeConformance("redis (node-redis, cluster)", () => redisAdapter(need(nodeClient), { prefix: "store-nr:" }), options);
storeConformance("redis (ioredis, cluster)", () => redisAdapter(need(ioClient), { prefix: "store-io:" }), options);

/** This prefix's keys on one master. */
async function keysOn(node: (typeof nodes)[number], prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (const match of [`${prefix}*`, `{${prefix}*`]) {
    for await (const page of node.scanIterator({ MATCH: match })) found.push(...page);
  }
  return found;
}

describe.skipIf(skip).each([
  ["node-redis", () => need(nodeClient)],
  ["ioredis", () => need(ioClient)],
] as const)("in a cluster of three masters (%s)", (name, client) => {
  const prefix = `spread-${name}:`;
  let backend: SessionBackend;
  const T0 = Date.now();

  beforeAll(async () => {
    backend = redisAdapter(client(), { prefix });
    await backend.init();
  });
  afterAll(() => backend?.clear());

  it("keeps a session's keys in its slot, and each owner set in its owner's", async () => {
    await backend.upsert(write("s1", T0 + HOUR, { owner: "olga", now: T0 }));
    const slot = (key: string) => need(nodes[0]).sendCommand(["CLUSTER", "KEYSLOT", key]);
    const session = await slot(`${prefix}s1`);
    expect(await slot(`{${prefix}s1}:m`)).toBe(session);
    expect(await slot(`{${prefix}s2}:m`)).toBe(await slot(`${prefix}s2`));
    expect(await slot(`{${prefix}olga}:o`)).toBe(await slot(`${prefix}olga`));
  });

  it("count, stream and clear walk every master", async () => {
    await backend.clear();
    const ids = Array.from({ length: 60 }, (_, i) => `id-${i}`);
    await Promise.all(ids.map((id, i) => backend.upsert(write(id, T0 + HOUR, { owner: `o${i % 7}`, now: T0 }))));
    // The sessions really are spread: every master holds some.
    for (const node of nodes) expect((await keysOn(node, prefix)).length).toBeGreaterThan(0);
    expect(await backend.count(T0)).toBe(60);
    const streamed: string[] = [];
    for await (const record of backend.stream(T0)) streamed.push(record.id);
    expect(streamed.sort()).toEqual([...ids].sort());
    expect((await backend.listByOwner("o3", T0)).length).toBe(ids.filter((_, i) => i % 7 === 3).length);
    await backend.clear();
    for (const node of nodes) expect(await keysOn(node, prefix)).toEqual([]);
  });

  it("sends an owner set's update alongside the session's script, not after it", async () => {
    const recorded =
      name === "node-redis"
        ? recording(client(), "sendCommand", (args) => args[2] as unknown[])
        : recording(client(), "call", (args) => args);
    const watched = redisAdapter(recorded.client, { prefix });
    await watched.upsert(write("pair", T0 + HOUR, { owner: "pat", now: T0 }));
    expect(recorded.sent).toEqual([
      { command: "EVALSHA", pendingBefore: 0 },
      { command: "EVALSHA", pendingBefore: 1 },
    ]);
    recorded.sent.length = 0;
    await watched.touch({ id: "pair", expiresAt: T0 + 2 * HOUR, now: T0 + 1, owner: "pat" });
    expect(recorded.sent.map((s) => s.pendingBefore)).toEqual([0, 1]);
    recorded.sent.length = 0;
    await watched.get("pair", T0);
    await watched.upsert(write("no-owner", T0 + HOUR, { now: T0 }));
    await watched.destroy("pair", { now: T0 + 2, until: T0 + HOUR });
    expect(recorded.sent.map((s) => s.command)).toEqual(["EVALSHA", "EVALSHA", "EVALSHA"]);
    expect((await backend.listByOwner("pat", T0 + 3)).length).toBe(0);
  });

  it("re-sends its scripts to masters that lost them (SCRIPT FLUSH on every node)", async () => {
    await backend.upsert(write("flushed", T0 + HOUR, { owner: "fred", payload: payload({ v: 1 }), now: T0 }));
    for (const node of nodes) await node.scriptFlush();
    expect((await backend.get("flushed", T0))?.payload).toBe(payload({ v: 1 }));
    await backend.upsert(write("flushed", T0 + HOUR, { owner: "fred", payload: payload({ v: 2 }), now: T0 + 1 }));
    await backend.touch({ id: "flushed", expiresAt: T0 + 2 * HOUR, now: T0 + 2, owner: "fred" });
    expect(await backend.destroyByOwner("fred", { tombstone: { now: T0 + 3, until: T0 + HOUR } })).toBe(1);
    // The master of the session's slot has the scripts again (the one holding its tombstone now).
    let holders = 0;
    for (const node of nodes) {
      if (!(await keysOn(node, prefix)).includes(`{${prefix}flushed}:m`)) continue;
      holders++;
      expect(await node.scriptExists([scripts.get.sha, scripts.upsert.sha, scripts.touch.sha])).toEqual([1, 1, 1]);
    }
    expect(holders).toBe(1);
  });
});

describe.skipIf(skip)("a master goes away and comes back (empty, with its slots)", () => {
  const session = (n: number) =>
    ({ cookie: { originalMaxAge: HOUR, expires: new Date(Date.now() + HOUR) }, n }) as unknown as SessionData;

  it("every call settles with an error code meanwhile, and both clients work again after", async () => {
    const port = need(cluster).ports[0] as number;
    const stores = [need(nodeClient), need(ioClient)].map((c, i) =>
      createStore(redisAdapter(c, { prefix: `away-${i}:` }), { gcInterval: 0, operationTimeout: 500 }),
    );
    try {
      for (const store of stores) await store.set("before", session(1));
      await need(cluster).kill(port);
      // ioredis drops a master it lost from its list: a walk over the rest would miss a third of
      // the sessions. It must fail instead.
      for (let waited = 0; need(ioClient).nodes("master").length === 3; waited += 50) {
        if (waited > 10_000) throw new Error("ioredis kept the lost master");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      for (const store of stores) {
        // The scans need every master: they fail. A single session's call fails when its slot's
        // master is the one away (and works otherwise): either way it settles.
        const [length, ids, write] = await Promise.allSettled([
          store.length(),
          store.ids(),
          store.set("x", session(2)),
        ]);
        for (const outcome of [length, ids]) {
          expect(outcome?.status).toBe("rejected");
          const code = (outcome as PromiseRejectedResult).reason.code;
          expect([ErrorCodes.BACKEND, ErrorCodes.TIMEOUT]).toContain(code);
        }
        if (write?.status === "rejected") expect([ErrorCodes.BACKEND, ErrorCodes.TIMEOUT]).toContain(write.reason.code);
      }
      await need(cluster).restart(port);
      for (const store of stores) {
        const deadline = Date.now() + 15_000;
        for (;;) {
          const ok = await store.set("after", session(3)).then(
            () => store.length(),
            () => undefined,
          );
          if (ok !== undefined) break;
          if (Date.now() > deadline) throw new Error("the client did not recover");
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(await store.get("after")).toMatchObject({ n: 3 });
      }
    } finally {
      for (const store of stores) await store.close();
    }
  });
});
