import { createStore, ErrorCodes, SessionStoreError } from "@sessionkit/core";
import { describe, expect, it } from "vitest";
import { databankAdapter } from "../src/index.js";
import {
  bankCall,
  Databank,
  databankRedisClass,
  memoryBank,
  memoryBanks,
  rawRead,
  scanAll,
  warnings,
} from "./helpers.js";

const RedisDatabank = databankRedisClass();

const HOUR = 3_600_000;
const T0 = Date.UTC(2030, 0, 1);
const session = (fields: Record<string, unknown> = {}) => ({
  cookie: { originalMaxAge: null, expires: null },
  ...fields,
});

function configError(run: () => unknown, option: string): SessionStoreError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SessionStoreError);
    expect((error as SessionStoreError).code).toBe(ErrorCodes.CONFIG);
    expect((error as Error).message).toContain(`"${option}"`);
    return error as SessionStoreError;
  }
  throw new Error(`expected a config error naming ${option}`);
}

const bank = memoryBanks();

describe("configuration is refused at construction, naming the option", () => {
  const memory = { driver: "memory" };

  it("refuses unknown and misspelt options", () => {
    configError(() => databankAdapter(memory, { connectDatabnk: true } as never), "connectDatabnk");
    configError(() => databankAdapter(memory, { ttl: 60 } as never), "ttl");
    configError(() => databankAdapter({ driver: "memory", param: {} } as never), "param");
    configError(() => databankAdapter(memory, 5 as never), "options");
  });

  it("refuses bad values", () => {
    for (const type of ["a:b", "", "x".repeat(101), "constructor", "__proto__", 7]) {
      configError(() => databankAdapter(memory, { type } as never), "type");
    }
    configError(() => databankAdapter(memory, { legacyTtl: 0 }), "legacyTtl");
    configError(() => databankAdapter(memory, { legacyTtl: "1h" as never }), "legacyTtl");
    configError(() => databankAdapter(memory, { bucketMs: 1.5 }), "bucketMs");
    configError(() => databankAdapter(memory, { connectDatabank: "yes" as never }), "connectDatabank");
    configError(() => databankAdapter(memory, { logger: {} as never }), "logger");
  });

  it("takes a driver name only as a plain package name, never a path", () => {
    for (const driver of ["", "../evil", "a/b", "@scope/pkg", "..", ".hidden", "Memory", "memory ", 5, null]) {
      configError(() => databankAdapter({ driver } as never), "driver");
    }
    configError(() => databankAdapter({ driver: "memory", params: "x" } as never), "params");
    configError(() => databankAdapter(null as never), "driver");
    configError(() => databankAdapter({ read() {} } as never), "bank");
  });

  it("refuses databank-redis, by name, by driver class and as a bank, saying why and what to use", () => {
    const byName = configError(() => databankAdapter({ driver: "redis" }), "driver");
    expect(byName.message).toMatch(/outage ends the process/);
    expect(byName.message).toMatch(/@sessionkit\/redis/);
    // A bank made the usual way (not connected: refused before any connection is made).
    const redisBank = Databank.get("redis", { port: 1, checkIndices: false });
    configError(() => databankAdapter(redisBank), "bank");
    configError(() => databankAdapter({ driver: RedisDatabank } as never), "driver");
  });

  it("in connect-databank's layout the store refuses encryption and a custom serializer", async () => {
    const backend = databankAdapter(await bank(), { connectDatabank: true });
    expect(backend.capabilities.legacy).toBe("connect-databank");
    expect(() => createStore(backend, { encryption: { keys: ["k".repeat(32)] } } as never)).toThrow(/encryption/);
    expect(() => createStore(backend, { serializer: { stringify: JSON.stringify, parse: JSON.parse } })).toThrow(
      /serializer/,
    );
    expect(databankAdapter(await bank()).capabilities.legacy).toBeUndefined();
  });
});

describe("init and close", () => {
  it("an unknown driver package fails init() with the loader's error; init() can be retried", async () => {
    const backend = databankAdapter({ driver: "no-such-driver-sk" });
    await expect(backend.init()).rejects.toThrow(/databank-no-such-driver-sk/);
    await expect(backend.init()).rejects.toThrow(/databank-no-such-driver-sk/);
    await expect(backend.get("x", T0)).rejects.toThrow(/init\(\)/);
    await backend.close();
  });

  it("a driver class that fails to connect fails init() with an Error", async () => {
    function Refusing() {
      return {
        ...Databank.get("memory", {}),
        connect: (_: object, cb: (e: unknown) => void) => cb({ name: "DatabankError", message: new Error("no route") }),
      };
    }
    const backend = databankAdapter({ driver: Refusing as never });
    await expect(backend.init()).rejects.toThrow("databank: no route");
  });

  it("close() disconnects a bank the adapter made, never the user's, and is idempotent", async () => {
    const own = databankAdapter({ driver: "memory" });
    await own.init();
    await own.close();
    await own.close();
    await expect(own.get("x", T0)).rejects.toThrow(/closed/);
    const users = await bank();
    const backend = databankAdapter(users);
    await backend.init();
    await backend.close();
    await bankCall((cb) => users.save("other", "k", { still: "connected" }, cb));
  });
});

describe("any stored value settles: a value that is not a session reads as missing, with a warning", () => {
  // Every kind of value a damaged store or another program can leave under the session type.
  const values: Record<string, unknown> = {
    "not-json": "not json{",
    number: 42,
    null: null,
    boolean: true,
    array: [1, 2, 3],
    empty: {},
    "cookie-not-object": { cookie: "x", sid: "cookie-not-object" },
    "no-original-max-age": { cookie: { expires: null }, sid: "no-original-max-age" },
    "bad-expires": { cookie: { originalMaxAge: null, expires: "not a date" }, sid: "bad-expires" },
    "no-sid": { cookie: { originalMaxAge: null, expires: null } },
    "damaged-meta": { sid: "damaged-meta", _sessionkit: { exp: "soon" }, payload: "{}" },
    "meta-without-session": {
      sid: "meta-without-session",
      _sessionkit: { exp: 1, created: 1, active: 1, owner: null },
    },
    "v1-damaged": { sessionkit: 1, sid: "v1-damaged", payload: 5, expiresAt: T0, owner: null },
  };
  const ids = Object.keys(values);

  async function setUp() {
    const b = await bank();
    const log = warnings();
    const backend = databankAdapter(b, { logger: log.logger });
    const store = createStore(backend, { gcInterval: 0, now: () => T0 });
    for (const id of ids) await bankCall((cb) => b.save("session", id, values[id], cb));
    await store.set("real", session({ n: 1 }) as never);
    return { b, log, backend, store };
  }

  it("get answers null and warns once per read, naming the session by fingerprint only", async () => {
    const { log, store } = await setUp();
    for (const id of ids) expect(await store.get(id)).toBeNull();
    expect(log.lines).toHaveLength(ids.length);
    for (const line of log.lines) {
      expect(line.obj.sidHash).toEqual(expect.any(String));
      expect(JSON.stringify(line)).not.toMatch(/not-json|damaged-meta/);
    }
    await store.close();
  });

  it("length, ids and all skip them and log how many, instead of failing for every session", async () => {
    const { log, store } = await setUp();
    expect(await store.length()).toBe(1);
    expect(await store.ids()).toEqual(["real"]);
    expect(Object.keys(await store.all())).toEqual(["real"]);
    // "no-sid" can't even be named by a scan; the rest are skipped alike.
    expect(log.lines.map((l) => l.obj.unreadable)).toEqual([ids.length, ids.length, ids.length]);
    await store.close();
  });

  it("touch leaves them alone; set replaces them; destroy removes them", async () => {
    const { b, backend, store } = await setUp();
    for (const id of ids) {
      await backend.touch({ id, expiresAt: T0 + HOUR, now: T0, owner: null });
      expect(await rawRead(b, "session", id)).toEqual(values[id]);
    }
    for (const id of ids) await store.set(id, session({ replaced: id }) as never);
    for (const id of ids) expect(await store.get(id)).toMatchObject({ replaced: id });
    expect(await store.length()).toBe(ids.length + 1);
    for (const id of ids) await store.destroy(id);
    expect(await store.ids()).toEqual(["real"]);
    await store.close();
  });

  it("GC never deletes them, even where the index lists the id", async () => {
    const { b, backend, store } = await setUp();
    // A session the index lists, later overwritten with something that is not a session.
    await store.set("overwritten", session() as never);
    await bankCall((cb) => b.save("session", "overwritten", [1, 2], cb));
    expect(await backend.deleteExpired(T0 + 2 * 86_400_000, 1000)).toBe(1); // "real" only
    expect(await rawRead(b, "session", "overwritten")).toEqual([1, 2]);
    for (const id of ids) expect(await rawRead(b, "session", id)).toEqual(values[id]);
    await store.close();
  });

  it("clear deletes every value it can name (by sid) and warns about the rest", async () => {
    const { b, log, store } = await setUp();
    await store.clear();
    const left = await scanAll(b, "session");
    expect(left).toHaveLength(ids.filter((id) => (values[id] as { sid?: unknown } | null)?.sid === undefined).length);
    expect(log.lines.at(-1)?.obj).toMatchObject({ op: "clear", unnamed: left.length });
    await store.close();
  });

  it("damaged index values make GC and the owner operations neither hang nor fail", async () => {
    const b = await bank();
    const backend = databankAdapter(b);
    const store = createStore(backend, { gcInterval: 0, now: () => T0, owner: (s) => s.user as string });
    await store.set("a", session({ user: "ann" }) as never);
    const index = await scanAll(b, "session_index");
    // Every value of the index type replaced by junk: chunks, floors and the GC start.
    await bankCall((cb) => b.save("session_index", "lo", "not a bucket", cb));
    for (const value of index) {
      const key = (value as { k?: string }).k;
      if (key) await bankCall((cb) => b.save("session_index", key, "junk", cb));
    }
    await bankCall((cb) => b.save("session_index", "o:3:ann#f", ["junk"], cb));
    expect(await backend.deleteExpired(T0 + 2 * 86_400_000, 100)).toBe(0);
    expect(await store.sessionsOf("ann")).toEqual([]);
    expect(await store.destroyByOwner("ann")).toBe(0);
    // Writes still index: a new session is found by its owner and collected by GC.
    await store.set("b", session({ user: "ann" }) as never);
    expect((await store.sessionsOf("ann")).map((s) => s.id)).toEqual(["b"]);
    await store.close();
  });
});

describe("the adapter's own errors name no owner", () => {
  it("a damaged owner's index counter fails the write without the owner in the message", async () => {
    const b = await bank();
    const backend = databankAdapter(b);
    await backend.init();
    const owner = "owner-ann@example.com";
    await bankCall((cb) => b.save("session_index", `o:${owner.length}:${owner}`, "junk", cb));
    const write = { id: "s1", payload: JSON.stringify(session()), expiresAt: T0 + HOUR, owner, now: T0 };
    const error = await backend.upsert(write).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/owner's index log is not a count/);
    expect(error?.message).not.toContain(owner);
    await backend.close();
  });
});

describe("ids that databank's memory driver can't store", () => {
  it("are refused before any I/O (the driver would throw outside any callback)", async () => {
    const b = await bank();
    const store = createStore(databankAdapter(b), { gcInterval: 0, owner: (s) => s.user as string });
    for (const id of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]) {
      await expect(store.get(id)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ID });
      await expect(store.set(id, session() as never)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ID });
      await expect(store.destroy(id)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ID });
    }
    // Owners are only part of index keys: any owner id works.
    await store.set("s1", session({ user: "constructor" }) as never);
    expect(await store.destroyByOwner("constructor")).toBe(1);
    await store.close();
  });
});

describe("driver failures reach the caller as errors with a code", () => {
  it("a disconnected bank: ERR_SESSION_BACKEND with the driver's error as cause", async () => {
    const b = await memoryBank();
    const store = createStore(databankAdapter(b), { gcInterval: 0 });
    await store.set("s", session() as never);
    await bankCall((cb) => b.disconnect(cb));
    for (const failing of [store.get("s"), store.set("s", session() as never), store.destroy("s"), store.length()]) {
      const error = await failing.catch((e: unknown) => e);
      expect(error).toMatchObject({ code: ErrorCodes.BACKEND });
      expect((error as SessionStoreError).cause).toMatchObject({ name: "NotConnectedError" });
    }
    await store.close();
  });

  it("a driver that throws, calls back twice or wraps its errors: every call settles once", async () => {
    // A real driver class, passed as such: the memory driver with three of its calls misbehaving.
    function Quirky(params: object) {
      const bankObject = Databank.get("memory", params);
      const read = bankObject.read.bind(bankObject);
      Object.assign(bankObject, {
        read(type: string, id: string, cb: (e: unknown, v?: unknown) => void) {
          if (id === "throws") throw new TypeError("driver bug");
          read(type, id, (e, v) => {
            cb(e, v);
            cb(new Error("second callback"));
          });
        },
        update(_type: string, _id: string, _value: unknown, cb: (e: unknown) => void) {
          cb({ name: "DatabankError", message: new Error("wrapped failure") });
        },
      });
      return bankObject;
    }
    const backend = databankAdapter({ driver: Quirky as never });
    const store = createStore(backend, { gcInterval: 0 });
    await expect(store.get("throws")).rejects.toMatchObject({ code: ErrorCodes.BACKEND });
    expect(await store.get("missing")).toBeNull();
    await store.set("s", session() as never); // a create: works
    expect(await store.get("s")).toMatchObject({ cookie: {} });
    const failed = await store.set("s", session({ v: 2 }) as never).catch((e: unknown) => e); // an update: fails
    expect(failed).toMatchObject({ code: ErrorCodes.BACKEND });
    expect((failed as Error).message).toMatch(/wrapped failure/);
    await store.close();
  });
});
