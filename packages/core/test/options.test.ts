import { randomBytes } from "node:crypto";
import { createStore, ErrorCodes, memoryBackend, type StoreOptions } from "@sessionkit/core";
import { describe, expect, it } from "vitest";
import { capturingLogger, instrumentedBackend, sessionWith, sessionWithoutExpiry } from "./helpers.js";

const config = (options: unknown) => () => createStore(memoryBackend(), options as StoreOptions);

describe("configuration is validated at construction, naming the option", () => {
  const cases: Array<[string, unknown]> = [
    ["ttl", { ttl: 0 }],
    ["ttl", { ttl: -5 }],
    ["ttl", { ttl: "1d" }],
    ["ttl", { ttl: Number.NaN }],
    ["touchAfter", { touchAfter: -1 }],
    ["touchAfter", { touchAfter: Number.POSITIVE_INFINITY }],
    ["gcInterval", { gcInterval: -1 }],
    ["gcBatchSize", { gcBatchSize: 0 }],
    ["gcBatchSize", { gcBatchSize: 2.5 }],
    ["owner", { owner: "user.id" }],
    ["serializer", { serializer: { stringify: JSON.stringify } }],
    ["serializer", { serializer: null }],
    ["encryption.keys", { encryption: {} }],
    ["encryption.keys", { encryption: { keys: [] } }],
    ["encryption.keys[0]", { encryption: { keys: ["short"] } }],
    ["encryption.keys[1]", { encryption: { keys: ["a".repeat(16), randomBytes(16)] } }],
    ["encryption.keys[0]", { encryption: { keys: [42] } }],
    ["maxIdLength", { maxIdLength: 0 }],
    ["maxSize", { maxSize: "1mb" }],
    ["logger", { logger: console }],
    ["ttlSeconds", { ttlSeconds: 5 }],
  ];
  it.each(cases)("rejects a bad %s", (option, options) => {
    expect(config(options)).toThrow(expect.objectContaining({ code: ErrorCodes.CONFIG }));
    expect(config(options)).toThrow(`"${option}"`);
  });

  it("rejects something that is not a backend, naming the missing method", () => {
    expect(() => createStore({} as never)).toThrow(/option "backend" is missing the method "init"/);
    expect(() => createStore(null as never)).toThrow(expect.objectContaining({ code: ErrorCodes.CONFIG }));
  });

  it("accepts no options at all", async () => {
    const store = createStore(memoryBackend());
    await store.set("a", sessionWith());
    expect(await store.get("a")).not.toBeNull();
    await store.close();
  });
});

describe("ttl", () => {
  it("defaults to one day for sessions whose cookie has no expiry", async () => {
    const { backend, inner } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0 });
    const before = Date.now();
    await store.set("a", sessionWithoutExpiry());
    const expiresAt = (await inner.get("a", 0))?.expiresAt as number;
    expect(expiresAt).toBeGreaterThanOrEqual(before + 86_400_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 86_400_000);
    await store.close();
  });

  it("takes seconds, or a function of the session", async () => {
    const { backend, inner } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0, ttl: (s) => (s.remember ? 3600 : 60) });
    const before = Date.now();
    await store.set("short", sessionWithoutExpiry());
    await store.set("long", sessionWithoutExpiry({ remember: true }));
    const short = (await inner.get("short", 0))?.expiresAt as number;
    const long = (await inner.get("long", 0))?.expiresAt as number;
    expect(short - before).toBeGreaterThanOrEqual(60_000);
    expect(short - before).toBeLessThan(3_600_000);
    expect(long - before).toBeGreaterThanOrEqual(3_600_000);
    await store.close();
  });

  it("yields to the cookie's expiry when there is one (Date or ISO string)", async () => {
    const { backend, inner } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0, ttl: 10 });
    const at = new Date(Date.now() + 7_777_000);
    await store.set("date", { cookie: { expires: at } } as never);
    await store.set("string", { cookie: { expires: at.toISOString() } } as never);
    expect((await inner.get("date", 0))?.expiresAt).toBe(at.getTime());
    expect((await inner.get("string", 0))?.expiresAt).toBe(at.getTime());
    await store.close();
  });

  it("a ttl function that throws fails the write with ERR_SESSION_SERIALIZE and writes nothing", async () => {
    const { backend, count } = instrumentedBackend();
    const store = createStore(backend, {
      ttl: () => {
        throw new Error("boom");
      },
    });
    await expect(store.set("a", sessionWithoutExpiry())).rejects.toMatchObject({ code: ErrorCodes.SERIALIZE });
    expect(count("upsert")).toBe(0);
    await store.close();
  });

  it("a ttl function returning nonsense fails the write with ERR_SESSION_SERIALIZE, naming what it returned", async () => {
    for (const bad of [Number.NaN, 0, -5, Number.POSITIVE_INFINITY, "3600", 1e12]) {
      const { backend, count } = instrumentedBackend();
      const store = createStore(backend, { gcInterval: 0, ttl: () => bad as number });
      const error = await store.set("a", sessionWithoutExpiry()).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: ErrorCodes.SERIALIZE, message: expect.stringContaining(String(bad)) });
      expect(count("upsert")).toBe(0);
      await store.close();
    }
  });

  it("an expiry more than ten years ahead (a cookie's) is stored capped at ten years", async () => {
    const { backend, inner } = instrumentedBackend();
    const now = 1_800_000_000_000;
    const store = createStore(backend, { gcInterval: 0, now: () => now });
    await store.set("a", { cookie: { expires: new Date(now + 400 * 365 * 86_400_000) } });
    expect((await inner.get("a", now))?.expiresAt).toBe(now + 10 * 365 * 86_400_000);
    await store.close();
  });

  it("a session whose cookie already expired is deleted, not stored", async () => {
    const { backend, inner, count } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0 });
    await store.set("a", sessionWith());
    await store.set("a", { cookie: { expires: new Date(Date.now() - 1000) } } as never);
    expect(count("upsert")).toBe(1);
    expect(await inner.get("a", 0)).toBeNull();
    await store.close();
  });
});

describe("touch and touchAfter", () => {
  it("touch moves the expiry without rewriting the payload", async () => {
    const { backend, inner, count } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0 });
    await store.set("a", sessionWith({ n: 1 }, 1000));
    const payload = (await inner.get("a", 0))?.payload;
    await store.touch("a", sessionWith({ n: 2 }, 90_000));
    expect(count("upsert")).toBe(1);
    expect(count("touch")).toBe(1);
    const after = await inner.get("a", 0);
    expect(after?.payload).toBe(payload);
    expect(after?.expiresAt).toBeGreaterThan(Date.now() + 60_000);
    await store.close();
  });

  it("by default every touch reaches the backend", async () => {
    const { backend, count } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0 });
    await store.set("a", sessionWith());
    for (let i = 0; i < 3; i++) await store.touch("a", sessionWith());
    expect(count("touch")).toBe(3);
    await store.close();
  });

  it("touchAfter skips touches that would move the expiry less than it since the last write", async () => {
    const { backend, count } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0, touchAfter: 60 });
    const session = sessionWith({}, 3_600_000);
    await store.set("a", session);
    await store.get("a");
    await store.touch("a", sessionWith({}, 3_600_000 + 30_000)); // moves 30 s: skipped
    expect(count("touch")).toBe(0);
    await store.touch("a", sessionWith({}, 3_600_000 + 61_000)); // moves 61 s: written
    expect(count("touch")).toBe(1);
    await store.touch("a", sessionWith({}, 3_600_000 + 90_000)); // 29 s after that write: skipped
    expect(count("touch")).toBe(1);
    await store.close();
  });

  it("touchAfter touches a session it has not seen (another process may have written it)", async () => {
    const { backend, count } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0, touchAfter: 60 });
    await store.touch("unknown", sessionWith());
    expect(count("touch")).toBe(1);
    await store.close();
  });
});

describe("owner", () => {
  it("records the owner the function returns, numbers as strings, and destroyByOwner uses it", async () => {
    const { backend, inner } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0, owner: (s) => (s.user as { id?: number })?.id });
    await store.set("a", sessionWith({ user: { id: 7 } }));
    await store.set("b", sessionWith({ user: { id: 7 } }));
    await store.set("c", sessionWith({ user: { id: 8 } }));
    await store.set("anon", sessionWith());
    expect((await inner.get("a", 0))?.owner).toBe("7");
    expect((await inner.get("anon", 0))?.owner).toBeNull();
    expect(await store.destroyByOwner(7)).toBe(2);
    expect(await store.ids()).toEqual(expect.arrayContaining(["c", "anon"]));
    expect(await store.length()).toBe(2);
    await store.close();
  });

  it("an owner function that throws fails the write and writes nothing", async () => {
    const { backend, count } = instrumentedBackend();
    const store = createStore(backend, {
      owner: () => {
        throw new Error("no user");
      },
    });
    await expect(store.set("a", sessionWith())).rejects.toMatchObject({
      code: ErrorCodes.SERIALIZE,
      cause: expect.objectContaining({ message: "no user" }),
    });
    expect(count("upsert")).toBe(0);
    await store.close();
  });

  it("destroyByOwner refuses an empty or non-string owner", async () => {
    const store = createStore(memoryBackend(), { gcInterval: 0, owner: (s) => s.user });
    await expect(store.destroyByOwner("")).rejects.toMatchObject({ code: ErrorCodes.INVALID_ID });
    await expect(store.destroyByOwner({} as never)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ID });
    await store.close();
  });
});

describe("serializer", () => {
  it("stores what the custom serializer makes and reads it back through it", async () => {
    const { backend, inner } = instrumentedBackend();
    const serializer = {
      stringify: (s: unknown) => `v1:${Buffer.from(JSON.stringify(s)).toString("base64")}`,
      parse: (t: string) => JSON.parse(Buffer.from(t.slice(3), "base64").toString()),
    };
    const store = createStore(backend, { gcInterval: 0, serializer });
    await store.set("a", sessionWith({ n: 42 }));
    expect((await inner.get("a", 0))?.payload.startsWith("v1:")).toBe(true);
    expect(await store.get("a")).toMatchObject({ n: 42 });
    await store.close();
  });

  it("a serializer that throws or returns a non-string fails with ERR_SESSION_SERIALIZE", async () => {
    const throwing = createStore(memoryBackend(), {
      serializer: {
        stringify: () => {
          throw new Error("nope");
        },
        parse: JSON.parse,
      },
    });
    const nonString = createStore(memoryBackend(), { serializer: { stringify: () => 42 as never, parse: JSON.parse } });
    await expect(throwing.set("a", sessionWith())).rejects.toMatchObject({ code: ErrorCodes.SERIALIZE });
    await expect(nonString.set("a", sessionWith())).rejects.toMatchObject({ code: ErrorCodes.SERIALIZE });
    await Promise.all([throwing.close(), nonString.close()]);
  });
});

describe("encryption", () => {
  const key1 = randomBytes(32);
  const key2 = "a long passphrase for key two";

  it("stores ciphertext, never the plaintext, and reads it back", async () => {
    const { backend, inner } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0, encryption: { keys: [key1] } });
    await store.set("a", sessionWith({ secret: "credit-card-4242" }));
    const payload = (await inner.get("a", 0))?.payload as string;
    expect(payload).not.toContain("credit-card");
    expect(payload.startsWith("skenc2.")).toBe(true);
    expect(await store.get("a")).toMatchObject({ secret: "credit-card-4242" });
    await store.close();
  });

  it("rotates keys: the first key encrypts, every key decrypts", async () => {
    const shared = memoryBackend();
    const oldStore = createStore(shared, { gcInterval: 0, encryption: { keys: [key1] } });
    const rotated = createStore(shared, { gcInterval: 0, encryption: { keys: [key2, key1] } });
    const newOnly = createStore(shared, { gcInterval: 0, encryption: { keys: [key2] } });
    await oldStore.set("old", sessionWith({ v: "old" }));
    expect(await rotated.get("old")).toMatchObject({ v: "old" }); // old key still decrypts
    await rotated.set("new", sessionWith({ v: "new" }));
    expect(await newOnly.get("new")).toMatchObject({ v: "new" }); // written with the new key
    expect(await oldStore.get("new")).toBeNull(); // the old key alone can't read it
    expect(await newOnly.get("old")).toBeNull(); // once the old key is dropped, old sessions are gone
    await Promise.all([oldStore.close(), rotated.close(), newOnly.close()]);
  });

  it("a tampered or foreign record reads as missing, with a warning", async () => {
    const { logger, entries } = capturingLogger();
    const { backend, inner } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0, encryption: { keys: [key1] }, logger });
    await store.set("a", sessionWith({ n: 1 }));
    const record = (await inner.get("a", 0)) as NonNullable<Awaited<ReturnType<typeof inner.get>>>;
    // One character of the ciphertext changed (never the last, whose low bits base64 may ignore).
    const at = record.payload.length - 10;
    const flipped = `${record.payload.slice(0, at)}${record.payload[at] === "A" ? "B" : "A"}${record.payload.slice(at + 1)}`;
    expect(flipped).not.toBe(record.payload);
    await inner.upsert({ ...record, payload: flipped, now: 0 });
    await inner.upsert({ ...record, id: "plain", payload: `{"cookie":{}}`, now: 0 });
    expect(await store.get("a")).toBeNull();
    expect(await store.get("plain")).toBeNull();
    expect(entries().filter((e) => e.level === 40)).toHaveLength(2);
    await store.close();
  });
});

describe("maxIdLength and maxSize", () => {
  it("ids longer than maxIdLength are refused before any I/O", async () => {
    const { backend, count } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0, maxIdLength: 10 });
    await expect(store.set("x".repeat(11), sessionWith())).rejects.toMatchObject({ code: ErrorCodes.INVALID_ID });
    await expect(store.get("x".repeat(11))).rejects.toMatchObject({ code: ErrorCodes.INVALID_ID });
    await store.set("x".repeat(10), sessionWith());
    expect(count("upsert")).toBe(1);
    expect(count("get")).toBe(0);
    await store.close();
  });

  it("the default maxIdLength is 255", async () => {
    const store = createStore(memoryBackend(), { gcInterval: 0 });
    await store.set("x".repeat(255), sessionWith());
    await expect(store.set("x".repeat(256), sessionWith())).rejects.toMatchObject({ code: ErrorCodes.INVALID_ID });
    await store.close();
  });

  it("sessions over maxSize (bytes, multi-byte aware) fail with ERR_SESSION_TOO_LARGE and write nothing", async () => {
    const { backend, count } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0, maxSize: 1000 });
    await store.set("fits", sessionWith({ s: "é".repeat(300) })); // 600 bytes of text
    await expect(store.set("big", sessionWith({ s: "é".repeat(600) }))).rejects.toMatchObject({
      code: ErrorCodes.TOO_LARGE,
    });
    expect(count("upsert")).toBe(1);
    await store.close();
  });

  it("the default maxSize is what the backend holds, at most 16 MiB: a 1.5 MB session from an older store fits", async () => {
    const store = createStore(memoryBackend(), { gcInterval: 0 });
    await store.set("a", sessionWith({ s: "x".repeat(1_500_000) }));
    await store.set("a", sessionWith({ s: "y".repeat(16 * 1024 * 1024 - 200) }));
    await expect(store.set("b", sessionWith({ s: "x".repeat(16 * 1024 * 1024) }))).rejects.toMatchObject({
      code: ErrorCodes.TOO_LARGE,
    });
    await store.close();
  });

  it("a maxSize above what the backend holds is a config error", () => {
    const { backend } = instrumentedBackend();
    Object.defineProperty(backend, "capabilities", { value: { maxPayloadBytes: 200 } });
    expect(() => createStore(backend, { maxSize: 201 })).toThrow(/"maxSize" is 201 bytes, more than backend/);
  });

  it("a backend's declared maxPayloadBytes lowers the limit", async () => {
    const { backend } = instrumentedBackend();
    Object.defineProperty(backend, "capabilities", { value: { maxPayloadBytes: 200 } });
    const store = createStore(backend, { gcInterval: 0 });
    await expect(store.set("a", sessionWith({ s: "x".repeat(300) }))).rejects.toMatchObject({
      code: ErrorCodes.TOO_LARGE,
    });
    await store.close();
  });
});
