import { serviceGate } from "@sessionkit/conformance";
import { createStore, ErrorCodes, SessionStoreError } from "@sessionkit/core";
import { afterAll, describe, expect, it } from "vitest";
import { type DatabankLike, databankAdapter } from "../src/index.js";
import {
  bankCall,
  connectedBank,
  deleteRedisKeys,
  eventually,
  RedisProxy,
  redisCommand,
  redisParams,
  testType,
} from "./helpers.js";

const HOUR = 3_600_000;
const rec = (id: string, expiresAt = Date.now() + HOUR) => ({ id, payload: "{}", expiresAt, owner: null });

describe("configuration", () => {
  const configError = (run: () => unknown, option: string) => {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(SessionStoreError);
      expect((error as SessionStoreError).code).toBe(ErrorCodes.CONFIG);
      expect((error as Error).message).toContain(`"${option}"`);
      return;
    }
    throw new Error(`expected a config error for ${option}`);
  };

  it("rejects a bank that is neither a Databank nor { driver, params }, synchronously", () => {
    configError(() => databankAdapter(null as never), "bank");
    configError(() => databankAdapter({} as never), "bank");
    configError(() => databankAdapter({ driver: "" } as never), "bank");
    configError(() => databankAdapter({ driver: "memory", params: "x" } as never), "bank.params");
  });

  it("rejects bad options, naming them", () => {
    const spec = { driver: "memory" };
    configError(() => databankAdapter(spec, { type: "a:b" }), "type");
    configError(() => databankAdapter(spec, { type: "constructor" }), "type");
    configError(() => databankAdapter(spec, { type: "" }), "type");
    configError(() => databankAdapter(spec, { bucketMs: 0 }), "bucketMs");
    configError(() => databankAdapter(spec, { bucketMs: 1.5 }), "bucketMs");
    configError(() => databankAdapter(spec, { indexDelay: -1 }), "indexDelay");
    configError(() => databankAdapter(spec, { sweepInterval: Number.NaN }), "sweepInterval");
    configError(() => databankAdapter(spec, { legacyTtl: "1h" as never }), "legacyTtl");
    configError(() => databankAdapter(spec, 5 as never), "options");
  });
});

describe("errors on the memory driver", () => {
  it("operations before init() reject instead of touching a missing bank", async () => {
    const backend = databankAdapter({ driver: "memory" });
    await expect(backend.get("x")).rejects.toThrow(/init\(\)/);
  });

  it("an unknown driver fails init() with the loader's error, and init() can be retried", async () => {
    const backend = databankAdapter({ driver: "no-such-driver-sk" });
    await expect(backend.init()).rejects.toThrow(/databank-no-such-driver-sk/);
    await expect(backend.init()).rejects.toThrow(/databank-no-such-driver-sk/);
    await backend.close();
  });

  it("ids naming Object.prototype members cannot crash the memory driver", async () => {
    const backend = databankAdapter({ driver: "memory" });
    await backend.init();
    for (const id of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      expect(await backend.get(id)).toBeNull();
      await backend.touch(id, Date.now() + HOUR, Date.now());
      await backend.destroy(id);
      await expect(backend.upsert(rec(id))).rejects.toThrow(RangeError);
    }
    // Owners are keyed with a prefix, so any owner id is fine.
    await backend.upsert({ ...rec("s1"), owner: "constructor" });
    expect(await backend.destroyByOwner("constructor")).toBe(1);
    await backend.close();
  });

  it("a disconnected bank (NotConnectedError) surfaces as ERR_SESSION_BACKEND with its cause", async () => {
    const bank: DatabankLike = await connectedBank("memory");
    const store = createStore(databankAdapter(bank, { sweepInterval: 0 }), { gcInterval: 0 });
    await store.set("sid-1", { cookie: { maxAge: HOUR } } as never);
    await bankCall((cb) => bank.disconnect(cb));
    const failure = await store.get("sid-1").catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SessionStoreError);
    expect((failure as SessionStoreError).code).toBe(ErrorCodes.BACKEND);
    expect(((failure as SessionStoreError).cause as Error).name).toBe("NotConnectedError");
    // close() reports the index entries it could no longer write rather than dropping them quietly.
    await expect(store.close()).rejects.toMatchObject({ code: ErrorCodes.BACKEND });
  });

  it("close() is idempotent and never disconnects the user's bank", async () => {
    const bank = await connectedBank("memory");
    const backend = databankAdapter(bank);
    await backend.init();
    await backend.close();
    await backend.close();
    await bankCall((cb) => bank.save("other", "k", { still: "connected" }, cb));
    await bankCall((cb) => bank.disconnect(cb));
  });
});

const redisSkip = await serviceGate("Redis", () => redisCommand("PING"));
describe.skipIf(Boolean(redisSkip))("Redis going away (databank-redis through a TCP proxy)", () => {
  const type = testType("outage");
  afterAll(async () => {
    await deleteRedisKeys(type);
  });

  it("init() against an unreachable Redis rejects, and nothing keeps retrying", async () => {
    const proxy = await new RedisProxy().start();
    await proxy.cut(); // a port nobody listens on
    const backend = databankAdapter({
      driver: "redis",
      params: { ...redisParams, host: "127.0.0.1", port: proxy.port },
    });
    await expect(backend.init()).rejects.toThrow(/ECONNREFUSED|connect/);
    await backend.close();
  });

  it("operations fail with ERR_SESSION_BACKEND while Redis is away, the process survives, and it recovers", async () => {
    const proxy = await new RedisProxy().start();
    const params = { ...redisParams, host: "127.0.0.1", port: proxy.port };
    const backend = databankAdapter({ driver: "redis", params }, { type, sweepInterval: 0, indexDelay: 60_000 });
    const store = createStore(backend, { gcInterval: 0 });
    await store.set("before", { cookie: { maxAge: HOUR }, n: 1 } as never);
    // An index entry still pending when Redis goes (60 s batching delay).
    await backend.upsert(rec("pending-expired", Date.now() - 1));

    await proxy.cut();
    const failure = await store.get("before").catch((e: unknown) => e);
    expect((failure as SessionStoreError).code).toBe(ErrorCodes.BACKEND);
    expect((failure as SessionStoreError).cause).toBeInstanceOf(Error);
    // GC reports the index write it cannot make, instead of pretending.
    await expect(backend.deleteExpired(Date.now(), 100)).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 500)); // reconnect attempts fail meanwhile: none may crash us

    await proxy.start(); // same port
    const back = await eventually(() => store.get("before"));
    expect((back as { n?: number } | null)?.n).toBe(1);
    // The pending entry was kept: the recovered GC writes it and collects the session.
    expect(await eventually(() => backend.deleteExpired(Date.now(), 100))).toBe(1);
    await store.close();
    await proxy.cut();
  });

  it("close() during an outage still releases the connection", async () => {
    const proxy = await new RedisProxy().start();
    const backend = databankAdapter(
      { driver: "redis", params: { ...redisParams, host: "127.0.0.1", port: proxy.port } },
      { type },
    );
    await backend.init();
    await proxy.cut();
    await backend.close();
  });
});
