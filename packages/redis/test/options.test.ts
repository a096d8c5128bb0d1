import { createStore, ErrorCodes, jsonSerializer } from "@sessionkit/core";
import { redisAdapter } from "@sessionkit/redis";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { describe, expect, it } from "vitest";
import { REDIS_HOST, REDIS_PORT } from "./support/redis.js";

/** A node-redis client that is never connected: the options are checked at construction. */
function idleClient() {
  const client = createClient({ socket: { host: REDIS_HOST, port: REDIS_PORT } });
  client.on("error", () => {});
  return client;
}

const configError = (message: RegExp) =>
  expect.objectContaining({ code: ErrorCodes.CONFIG, message: expect.stringMatching(message) });

describe("redisAdapter options", () => {
  it("defaults: prefix sess:, the capabilities of native expiry", () => {
    const backend = redisAdapter(idleClient());
    expect(backend.name).toBe("redis:node-redis");
    expect(backend.capabilities).toMatchObject({ owners: true, tombstones: true, createdAt: true, expiry: "native" });
    expect(backend.capabilities?.legacy).toBeUndefined();
  });

  it("refuses unknown options, naming them and the known ones", () => {
    expect(() => redisAdapter(idleClient(), { prefx: "a:" } as never)).toThrow(
      configError(/option "prefx" is not an option of redisAdapter \(known: prefix, scanCount, connectRedis\)/),
    );
    expect(() => redisAdapter(idleClient(), "sess:" as never)).toThrow(configError(/must be an object/));
  });

  it.each([
    ["prefix", ""],
    ["prefix", "{app}:"],
    ["prefix", "app}"],
    ["prefix", 42],
    ["scanCount", 0],
    ["scanCount", 1.5],
    ["scanCount", "100"],
    ["connectRedis", "yes"],
  ])("refuses %s = %j", (option, value) => {
    expect(() => redisAdapter(idleClient(), { [option]: value })).toThrow(
      configError(new RegExp(`option "${option}" of redisAdapter must be`)),
    );
  });

  it("refuses ids with braces, before any I/O (they would leave the session's cluster slot)", async () => {
    const backend = redisAdapter(idleClient());
    expect(backend.capabilities?.idProblem?.("a{b")).toMatch(/\{ or \}/);
    expect(backend.capabilities?.idProblem?.("a}b")).toMatch(/\{ or \}/);
    expect(backend.capabilities?.idProblem?.("plain-id_1.2")).toBeUndefined();
    const store = createStore(backend, { gcInterval: 0, operationTimeout: 200 });
    await expect(store.get("a{b}")).rejects.toMatchObject({ code: ErrorCodes.INVALID_ID });
    await store.close().catch(() => {});
  });

  it("connectRedis: the store refuses encryption and a custom serializer, which connect-redis could not read", async () => {
    const sharing = () => redisAdapter(idleClient(), { connectRedis: true });
    expect(sharing().capabilities?.legacy).toBe("connect-redis");
    expect(() => createStore(sharing(), { encryption: { keys: ["a secret of sixteen+ chars"] } })).toThrow(
      configError(/"encryption" can't be used/),
    );
    expect(() => createStore(sharing(), { serializer: jsonSerializer })).toThrow(
      configError(/"serializer" can't be used/),
    );
    // Without it, encryption is the user's choice (connect-redis then can't read the sessions).
    const store = createStore(redisAdapter(idleClient()), {
      gcInterval: 0,
      encryption: { keys: ["a secret of sixteen+ chars"] },
    });
    expect(store).toBeDefined();
    await store.close().catch(() => {});
  });
});

describe("clients the adapter refuses", () => {
  it("a node-redis client without an error listener (node-redis would end the process on a connection error)", async () => {
    const client = createClient({ socket: { host: REDIS_HOST, port: REDIS_PORT } });
    expect(() => redisAdapter(client)).toThrow(expect.objectContaining({ code: ErrorCodes.CONFIG }));
    expect(() => redisAdapter(client)).toThrow(/"error" listener/);
    client.on("error", () => {});
    expect(() => redisAdapter(client)).not.toThrow();
  });

  it("an ioredis client with keyPrefix (SCAN patterns would miss it)", async () => {
    const client = new Redis({ lazyConnect: true, keyPrefix: "app:" });
    expect(() => redisAdapter(client)).toThrow(/keyPrefix/);
    client.disconnect();
  });

  it("anything else", () => {
    expect(() => redisAdapter({} as never)).toThrow(expect.objectContaining({ code: ErrorCodes.CONFIG }));
    expect(() => redisAdapter(null as never)).toThrow(/node-redis 5 client or cluster/);
  });
});
