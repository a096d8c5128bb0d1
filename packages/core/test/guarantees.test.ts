import { createCipheriv, randomBytes, scryptSync } from "node:crypto";
import { createStore, ErrorCodes, memoryBackend, type SessionRecord, type SessionStoreError } from "@sessionkit/core";
import { describe, expect, it } from "vitest";
import {
  capturingLogger,
  expectNoStrayErrors,
  instrumentedBackend,
  sessionWith,
  sessionWithoutExpiry,
} from "./helpers.js";

const HOUR = 3_600_000;

/** A store clock the test moves. */
function clock(start = 1_800_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms), at: () => t };
}

describe("one clock", () => {
  it("expiry, counting and listing follow the store's clock, not the machine's", async () => {
    const time = clock();
    const store = createStore(memoryBackend(), { gcInterval: 0, ttl: 60, now: time.now });
    await store.set("a", sessionWithoutExpiry({ n: 1 }));
    time.advance(59_999);
    expect(await store.get("a")).toMatchObject({ n: 1 });
    expect(await store.length()).toBe(1);
    time.advance(1);
    expect(await store.get("a")).toBeNull();
    expect(await store.length()).toBe(0);
    expect(await store.ids()).toEqual([]);
    expect(await store.prune()).toBe(1);
    await store.close();
  });
});

describe("a logout is final", () => {
  it("a write or touch after destroy is refused without an error, and logged at debug", async () => {
    const time = clock();
    const { logger, entries } = capturingLogger();
    const store = createStore(memoryBackend(), { gcInterval: 0, now: time.now, logger });
    await store.set("s", sessionWithoutExpiry({ user: "u" }));
    const loaded = await store.get("s"); // a request loaded it...
    await store.destroy("s"); // ...another logged out...
    time.advance(1000);
    await expect(store.set("s", { ...(loaded as object), late: true } as never)).resolves.toBeUndefined();
    await expect(store.touch("s", loaded as never)).resolves.toBeUndefined();
    expect(await store.get("s")).toBeNull();
    expect(
      entries().some((e) => e.level === 20 && e.op === "set" && e.msg === "write refused: the session was destroyed"),
    ).toBe(true);
    // A new id is never affected.
    await store.set("t", sessionWithoutExpiry());
    expect(await store.get("t")).not.toBeNull();
    await store.close();
  });

  it("the tombstone lasts tombstoneTtl, then the id is writable again; 0 turns tombstones off", async () => {
    const time = clock();
    const store = createStore(memoryBackend(), { gcInterval: 0, now: time.now, tombstoneTtl: 60 });
    await store.set("s", sessionWithoutExpiry());
    await store.destroy("s");
    time.advance(59_999);
    await store.set("s", sessionWithoutExpiry());
    expect(await store.get("s")).toBeNull();
    time.advance(1);
    await store.set("s", sessionWithoutExpiry());
    expect(await store.get("s")).not.toBeNull();
    await store.close();

    const off = createStore(memoryBackend(), { gcInterval: 0, tombstoneTtl: 0 });
    await off.set("s", sessionWithoutExpiry());
    await off.destroy("s");
    await off.set("s", sessionWithoutExpiry());
    expect(await off.get("s")).not.toBeNull();
    await off.close();
  });

  it("a backend without tombstones gets plain deletes, and the store says once at start what that means", async () => {
    const { logger, entries } = capturingLogger();
    const { backend, calls } = instrumentedBackend();
    Object.defineProperty(backend, "capabilities", { value: { owners: true } }); // no tombstones declared
    const store = createStore(backend, { gcInterval: 0, logger });
    await store.destroy("s");
    expect(calls.find((c) => c.method === "destroy")?.args).toEqual(["s", undefined]);
    const notes = entries().filter((e) => e.level === 30 && e.tombstones === false);
    expect(notes).toHaveLength(1);
    expect(notes[0]?.msg).toMatch(/a request in flight during a logout can write the session back/);
    await store.close();
  });
});

describe("users control their sessions", () => {
  const owner = (s: { user?: string }) => s.user;

  it("sessionsOf lists an owner's live sessions, most recently active first, with their times", async () => {
    const time = clock();
    const store = createStore(memoryBackend(), { gcInterval: 0, now: time.now, owner, ttl: 3600 });
    const t0 = time.at();
    await store.set("laptop", sessionWithoutExpiry({ user: "ann", device: "laptop" }));
    time.advance(1000);
    await store.set("phone", sessionWithoutExpiry({ user: "ann", device: "phone" }));
    await store.set("other", sessionWithoutExpiry({ user: "bob" }));
    time.advance(1000);
    await store.touch("laptop", sessionWithoutExpiry({ user: "ann" }));
    const listed = await store.sessionsOf("ann");
    expect(listed.map((s) => s.id)).toEqual(["laptop", "phone"]);
    expect(listed[0]).toMatchObject({
      session: { device: "laptop" },
      createdAt: new Date(t0),
      lastActiveAt: new Date(t0 + 2000),
      expiresAt: new Date(t0 + 2000 + 3600_000),
    });
    expect(listed[1]).toMatchObject({ createdAt: new Date(t0 + 1000), lastActiveAt: new Date(t0 + 1000) });
    expect(await store.sessionsOf("nobody")).toEqual([]);
    await store.close();
  });

  it("destroyOthers signs out the other devices for good and keeps this one", async () => {
    const store = createStore(memoryBackend(), { gcInterval: 0, owner });
    for (const id of ["a", "b", "c"]) await store.set(id, sessionWithoutExpiry({ user: "ann" }));
    const b = await store.get("b");
    expect(await store.destroyOthers("ann", "a")).toBe(2);
    await store.set("b", b as never); // a late write from the signed-out device
    expect((await store.sessionsOf("ann")).map((s) => s.id)).toEqual(["a"]);
    await store.close();
  });

  it("owner operations need the owner option, a valid owner and a valid id: clear errors, no I/O", async () => {
    const { backend, count } = instrumentedBackend();
    const without = createStore(backend, { gcInterval: 0 });
    for (const run of [
      () => without.destroyByOwner("ann"),
      () => without.sessionsOf("ann"),
      () => without.destroyOthers("ann", "a"),
    ]) {
      await expect(run()).rejects.toMatchObject({
        code: ErrorCodes.UNSUPPORTED,
        message: expect.stringMatching(/needs the owner option/),
      });
    }
    const store = createStore(backend, { gcInterval: 0, owner });
    for (const bad of ["", {}, null, Number.NaN, "x\0y", "\ud800", "o".repeat(256)]) {
      await expect(store.sessionsOf(bad as never)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ID });
      await expect(store.destroyOthers(bad as never, "a")).rejects.toMatchObject({ code: ErrorCodes.INVALID_ID });
    }
    await expect(store.destroyOthers("ann", "" as never)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ID });
    expect(count("listByOwner") + count("destroyByOwner")).toBe(0);
    await Promise.all([without.close(), store.close()]);
  });

  it("an owner function returning something that is not an owner fails the write", async () => {
    const { backend, count } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0, owner: () => ({ id: 1 }) as never });
    await expect(store.set("a", sessionWith())).rejects.toMatchObject({ code: ErrorCodes.SERIALIZE });
    expect(count("upsert")).toBe(0);
    await store.close();
  });
});

describe("absolute lifetime", () => {
  it("a session ends maxLifetime after its first write, whatever touches and writes do", async () => {
    const time = clock();
    const store = createStore(memoryBackend(), { gcInterval: 0, now: time.now, ttl: 600, maxLifetime: 3600 });
    await store.set("s", sessionWithoutExpiry({ n: 0 }));
    for (let i = 1; i <= 11; i++) {
      time.advance(300_000); // every 5 minutes, well within the 10-minute idle ttl
      await store.touch("s", sessionWithoutExpiry());
      await store.set("s", sessionWithoutExpiry({ n: i }));
    }
    expect(await store.get("s")).toMatchObject({ n: 11 }); // 55 minutes in
    time.advance(300_000); // one hour after the first write
    expect(await store.get("s")).toBeNull();
    await store.set("s", sessionWithoutExpiry({ n: 12 })); // a late write can't extend it
    expect(await store.get("s")).toBeNull();
    await store.close();
  });

  it("is refused on a backend that stores no creation times", () => {
    const { backend } = instrumentedBackend();
    Object.defineProperty(backend, "capabilities", { value: { owners: true, tombstones: true } }); // no createdAt
    expect(() => createStore(backend, { maxLifetime: 3600 })).toThrow(
      /"maxLifetime" needs a backend that stores creation times/,
    );
  });
});

describe("bounded time on a hung database", () => {
  it("a call that never answers fails with ERR_SESSION_TIMEOUT, and close() still finishes", async () => {
    const { backend, hang } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0, operationTimeout: 50 });
    await store.length(); // initialized
    hang("get", "upsert", "close");
    const get = store.get("a").catch((e: unknown) => e);
    const set = store.set("a", sessionWith()).catch((e: unknown) => e);
    const closed = store.close().catch((e: unknown) => e);
    expect(await get).toMatchObject({
      code: ErrorCodes.TIMEOUT,
      message: expect.stringMatching(/did not answer get within 50 ms/),
    });
    expect(await set).toMatchObject({ code: ErrorCodes.TIMEOUT });
    expect(await closed).toMatchObject({ code: ErrorCodes.TIMEOUT });
    await expect(store.get("a")).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
  });

  it("each call has its own deadline: answers in time are kept, the rest time out, late answers change nothing", async () => {
    const { backend } = instrumentedBackend();
    const answer = new Map<string, (record: SessionRecord | null) => void>();
    const store = createStore(backend, { gcInterval: 0, operationTimeout: 50 });
    await store.length(); // initialized
    backend.get = (id: string) => new Promise((resolve) => answer.set(id, resolve));
    const record = (id: string): SessionRecord => ({
      id,
      payload: JSON.stringify(sessionWith({ id })),
      expiresAt: Date.now() + HOUR,
      owner: null,
    });
    const outcome = (p: Promise<unknown>) =>
      p.then(
        (value) => ({ value }),
        (error: SessionStoreError) => ({ code: error.code }),
      );
    // Four calls under way; the second and the last (the middle and the end of the pending list) answered in time.
    const calls = ["a", "b", "c", "d"].map((id) => outcome(store.get(id)));
    const called: unknown[][] = [];
    store.get("cb", (...args: unknown[]) => called.push(args));
    answer.get("b")?.(record("b"));
    answer.get("d")?.(null);
    const [a, b, c, d] = await Promise.all(calls);
    expect(b).toEqual({ value: expect.objectContaining({ id: "b" }) });
    expect(d).toEqual({ value: null });
    expect(a).toEqual({ code: ErrorCodes.TIMEOUT });
    expect(c).toEqual({ code: ErrorCodes.TIMEOUT });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(called).toEqual([[expect.objectContaining({ code: ErrorCodes.TIMEOUT })]]);
    // The database answers at last: nobody hears of it twice.
    for (const id of ["a", "c", "cb"]) answer.get(id)?.(record(id));
    await new Promise((resolve) => setImmediate(resolve));
    expect(called).toHaveLength(1);
    // Later calls are watched as before, and close() waits for nothing left over.
    const later = outcome(store.get("e"));
    answer.get("e")?.(null);
    expect(await later).toEqual({ value: null });
    expect(await outcome(store.get("f"))).toEqual({ code: ErrorCodes.TIMEOUT });
    await store.close();
  });

  it("a prune longer than operationTimeout finishes: each batch has the deadline, not the whole run", async () => {
    const { backend } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0, operationTimeout: 200, gcBatchSize: 100 });
    await store.length(); // initialized
    let batches = 0;
    // Twelve full batches of 25 ms each (300 ms in all, each far inside 200 ms even on a busy
    // machine), then a short one.
    backend.deleteExpired = (_now: number, limit: number) =>
      new Promise((resolve) => setTimeout(() => resolve(++batches <= 12 ? limit : 0), 25));
    const deleted = await store.prune();
    expect(batches).toBe(13);
    expect(deleted).toBeGreaterThanOrEqual(1200);
    // A batch that hangs still fails the prune, with the batch's deadline.
    backend.deleteExpired = () => new Promise(() => {});
    await expect(store.prune()).rejects.toMatchObject({ code: ErrorCodes.TIMEOUT });
    await store.close();
  });

  it("a listing longer than operationTimeout finishes: each step has the deadline; close() stops it", async () => {
    const { backend } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0, operationTimeout: 200 });
    const ids = Array.from({ length: 12 }, (_, i) => `s${String(i).padStart(2, "0")}`);
    for (const id of ids) await store.set(id, sessionWith({ id }));
    let released = 0;
    let onStep = () => {};
    const inner = backend.stream.bind(backend);
    // Each record 25 ms after the last (300 ms in all, each step far inside 200 ms).
    backend.stream = (now: number) => ({
      [Symbol.asyncIterator]() {
        const records = inner(now)[Symbol.asyncIterator]();
        return {
          next: () => {
            onStep();
            return new Promise((resolve) => setTimeout(() => resolve(records.next()), 25));
          },
          return: async () => {
            released++;
            return { done: true as const, value: undefined };
          },
        };
      },
    });
    expect(Object.keys(await store.all()).sort()).toEqual(ids);
    expect(await store.ids()).toHaveLength(12);
    expect(released).toBe(0); // read to the end: nothing to release
    // close() during a listing: the listing stops after the step under way, and its iterator is released.
    const secondStep = new Promise<void>((resolve) => {
      let steps = 0;
      onStep = () => ++steps === 2 && resolve();
    });
    const listing = store.ids().catch((e: unknown) => e);
    await secondStep;
    await store.close();
    expect(await listing).toMatchObject({ code: ErrorCodes.CLOSED });
    expect(released).toBe(1);
  });

  it("a hung init fails the operations waiting for it instead of holding them", async () => {
    const { backend, hang } = instrumentedBackend();
    hang("init");
    const store = createStore(backend, { gcInterval: 0, operationTimeout: 50 });
    await expect(store.get("a")).rejects.toMatchObject({ code: ErrorCodes.TIMEOUT });
    await store.close();
  });
});

describe("nothing secret in error messages or logs", () => {
  it("a stored value a parser can't read is missing, and the parser's message (which may quote it) is not logged", async () => {
    const { logger, lines } = capturingLogger();
    const { backend, inner } = instrumentedBackend();
    const serializer = {
      stringify: JSON.stringify,
      parse: (text: string) => {
        if (text.startsWith("{")) return JSON.parse(text);
        throw new Error(`cannot parse ${text}`);
      },
    };
    const store = createStore(backend, { gcInterval: 0, logger, serializer });
    const record = { expiresAt: Date.now() + HOUR, owner: null, now: Date.now() };
    await inner.upsert({ ...record, id: "custom", payload: "TOP-SECRET-5521 in a format" });
    await inner.upsert({ ...record, id: "json", payload: "{TOP-SECRET-6632 not json" });
    expect(await store.get("custom")).toBeNull();
    expect(await store.get("json")).toBeNull();
    const warnings = lines.filter((line) => line.includes('"level":40'));
    expect(warnings).toHaveLength(2);
    expect(warnings.join("\n")).toMatch(/the serializer could not parse it[\s\S]*not valid JSON/);
    expect(lines.join("\n")).not.toMatch(/TOP-SECRET/);
    await store.close();
  });

  it("a driver error quoting the statement, the id, the owner and the contents is scrubbed for callers and logs", async () => {
    const { logger, lines } = capturingLogger();
    const { backend, failWith } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0, logger, owner: (s) => s.user });
    const sid = "Zk3VqP0c8mW-secret-session-id-81";
    const session = sessionWith({ user: "owner-4711", note: "TOP-SECRET-91827" });
    failWith("upsert", ([write]) => {
      const w = write as { id: string; payload: string; owner: string };
      return Object.assign(
        new Error(
          `Duplicate entry '${w.id}' for key 'PRIMARY' in insert into sessions values ('${w.id}', '${w.payload}', '${w.owner}') at http://admin:pw@db.example:5984/sessions/${encodeURIComponent(w.id)}?rev=1`,
        ),
        { code: "ER_DUP_ENTRY", sql: `insert into sessions values ('${w.id}', '${w.payload}')` },
      );
    });
    const error = (await store.set(sid, session).catch((e: unknown) => e)) as SessionStoreError;
    expect(error.code).toBe(ErrorCodes.BACKEND);
    const seen = [error.message, JSON.stringify(error.cause), String((error.cause as Error).message), ...lines].join(
      "\n",
    );
    for (const secret of [sid, "owner-4711", "TOP-SECRET-91827", "admin:pw", "/sessions/"])
      expect(seen).not.toContain(secret);
    expect(error.message).toMatch(/Duplicate entry .* for key 'PRIMARY'/); // still useful
    expect((error.cause as { code?: unknown }).code).toBe("ER_DUP_ENTRY");
    expect((error.cause as { sql?: unknown }).sql).toBeUndefined();
    await store.close();
  });

  it("an id run into a key prefix is scrubbed; a short owner is replaced only as a whole word", async () => {
    const { backend, failWith } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0, owner: (s) => s.user });
    const sid = "Zk3VqP0c8mWsecretSessionId81";
    // A key prefix ending in a letter ("sess") runs straight into the id, as Redis keys do.
    failWith(
      "get",
      ([id]) => new Error(`WRONGTYPE Operation against a key holding the wrong kind of value: sess${id}`),
    );
    const read = (await store.get(sid).catch((e: unknown) => e)) as SessionStoreError;
    expect(read.code).toBe(ErrorCodes.BACKEND);
    expect([read.message, (read.cause as Error).message].join("\n")).not.toContain(sid);
    failWith("upsert", () => new Error("Duplicate entry a for key PRIMARY"));
    const write = (await store.set("b", sessionWith({ user: "a" })).catch((e: unknown) => e)) as SessionStoreError;
    expect(write.message).toContain("Duplicate entry [redacted] for key PRIMARY");
    await store.close();
  });
});

describe("encryption bound to the id", () => {
  const key = "correct horse battery staple 42";

  it("a valid ciphertext copied under another id reads as missing, with a warning", async () => {
    const { logger, entries } = capturingLogger();
    const backend = memoryBackend();
    const store = createStore(backend, { gcInterval: 0, encryption: { keys: [key] }, logger });
    await store.set("victim", sessionWith({ user: "admin" }));
    const stolen = await backend.get("victim", Date.now());
    await backend.upsert({ ...(stolen as NonNullable<typeof stolen>), id: "attacker", now: Date.now() });
    expect(await store.get("attacker")).toBeNull();
    expect(entries().filter((e) => e.level === 40)).toHaveLength(1);
    expect(await store.get("victim")).toMatchObject({ user: "admin" });
    await store.close();
  });

  it("reads records of the unbound 0.1 format unless acceptUnbound is false, and rewrites them bound", async () => {
    // The 0.1 format, made here with the documented algorithm: skenc1. + base64url(keyId | iv | tag | body).
    const secret = scryptSync(key, "sessionkit/encryption/v1", 32);
    const { createHash } = await import("node:crypto");
    const keyId = createHash("sha256").update(secret).digest().subarray(0, 4);
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", secret, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(sessionWith({ v: "old" })), "utf8"), cipher.final()]);
    const old = `skenc1.${Buffer.concat([keyId, iv, cipher.getAuthTag(), body]).toString("base64url")}`;

    const backend = memoryBackend();
    await backend.upsert({ id: "old", payload: old, expiresAt: Date.now() + HOUR, owner: null, now: Date.now() });
    const strict = createStore(backend, { gcInterval: 0, encryption: { keys: [key], acceptUnbound: false } });
    expect(await strict.get("old")).toBeNull();
    const store = createStore(backend, { gcInterval: 0, encryption: { keys: [key] } });
    const session = await store.get("old");
    expect(session).toMatchObject({ v: "old" });
    await store.set("old", session as never);
    expect((await backend.get("old", Date.now()))?.payload.startsWith("skenc2.")).toBe(true);
    expect(await strict.get("old")).toMatchObject({ v: "old" });
    await Promise.all([strict.close(), store.close()]);
  });
});

describe("records that are not sessions", () => {
  it("read as missing with one warning each; a write of a non-session is refused", async () => {
    const { logger, entries } = capturingLogger();
    const backend = memoryBackend();
    const store = createStore(backend, { gcInterval: 0, logger });
    const bad = ["{}", "[]", '{"cookie":null}', '{"cookie":"x"}', "[1,2]", '"text"', "42", "{not json"];
    for (const [i, payload] of bad.entries()) {
      await backend.upsert({ id: `bad-${i}`, payload, expiresAt: Date.now() + HOUR, owner: null, now: Date.now() });
    }
    for (let i = 0; i < bad.length; i++) expect(await store.get(`bad-${i}`)).toBeNull();
    expect(Object.keys(await store.all())).toEqual([]);
    expect(entries().filter((e) => e.level === 40)).toHaveLength(2 * bad.length);
    for (const session of [{}, [], { cookie: null }, { cookie: "x" }]) {
      await expect(store.set("w", session as never)).rejects.toMatchObject({ code: ErrorCodes.SERIALIZE });
    }
    await store.close();
  });
});

describe("ids", () => {
  it("ids a database can't store are refused before I/O: NUL, lone surrogates, and what the backend declares", async () => {
    const { backend, calls } = instrumentedBackend();
    Object.defineProperty(backend, "capabilities", {
      value: { idProblem: (id: string) => (id === "reserved" ? "is reserved by this database" : undefined) },
    });
    const store = createStore(backend, { gcInterval: 0 });
    await store.length();
    const before = calls.length;
    for (const id of ["a\0b", "\ud800", "x\udc00y", "reserved"]) {
      for (const run of [() => store.get(id), () => store.set(id, sessionWith()), () => store.destroy(id)]) {
        await expect(run()).rejects.toMatchObject({ code: ErrorCodes.INVALID_ID });
      }
    }
    expect(calls.length).toBe(before);
    await store.set("pair-😀", sessionWith()); // a well-formed surrogate pair is fine
    expect(await store.get("pair-😀")).not.toBeNull();
    await store.close();
  });

  it("all() builds its result without a prototype: an id named __proto__ is just a key", async () => {
    const store = createStore(memoryBackend(), { gcInterval: 0 });
    await store.set("__proto__", sessionWith({ evil: true }));
    await store.set("constructor", sessionWith({ n: 2 }));
    const all = await store.all();
    expect(Object.getPrototypeOf(all)).toBeNull();
    expect(Object.keys(all).sort()).toEqual(["__proto__", "constructor"]);
    expect(Object.getOwnPropertyDescriptor(all, "__proto__")?.value).toMatchObject({ evil: true });
    await store.close();
  });
});

describe("configuration that cannot work is refused at construction", () => {
  const backend = memoryBackend();
  it.each([
    [{ ttl: 1e16 }, /"ttl" of createStore must be a number above 0 and at most 315360000/],
    [{ gcInterval: 2 ** 31 }, /"gcInterval" of createStore must be an integer from 0 to 2147483647/],
    [{ maxLifetime: 0 }, /"maxLifetime"/],
    [{ tombstoneTtl: -1 }, /"tombstoneTtl"/],
    [{ operationTimeout: 0 }, /"operationTimeout"/],
    [{ gcBatchTime: 0 }, /"gcBatchTime"/],
    [{ now: 5 }, /"now" of createStore must be a function/],
    [{ encryption: { keys: ["0123456789abcdef"], rotate: true } }, /"encryption.rotate" is not an option/],
    [{ encryption: { keys: ["0123456789abcdef"], acceptUnbound: "yes" } }, /"encryption.acceptUnbound"/],
    [{ tll: 60 }, /"tll" is not an option of createStore/],
  ])("%o", (options, message) => {
    expect(() => createStore(backend, options as never)).toThrow(message);
  });

  it("over another store's layout, encryption and custom serializers are refused", () => {
    const { backend: legacy } = instrumentedBackend();
    Object.defineProperty(legacy, "capabilities", { value: { legacy: "connect-session-knex" } });
    expect(() => createStore(legacy, { encryption: { keys: ["0123456789abcdef"] } })).toThrow(
      /"encryption" can't be used over .*connect-session-knex reads as plain JSON/,
    );
    expect(() => createStore(legacy, { serializer: { stringify: String, parse: JSON.parse } })).toThrow(/"serializer"/);
  });
});

describe("a write refused after the response went out is visible", () => {
  expectNoStrayErrors();

  it("emits error to a listener and logs it; without a listener nothing is thrown", async () => {
    const { logger, entries } = capturingLogger();
    const store = createStore(memoryBackend(), { gcInterval: 0, maxSize: 100, logger });
    await expect(store.set("a", sessionWith({ big: "x".repeat(200) }))).rejects.toMatchObject({
      code: ErrorCodes.TOO_LARGE,
    });
    const events: unknown[] = [];
    store.on("error", (e) => events.push(e));
    await new Promise<void>((resolve) => store.set("a", sessionWith({ big: "x".repeat(200) }), () => resolve()));
    expect(events).toEqual([expect.objectContaining({ code: ErrorCodes.TOO_LARGE })]);
    expect(entries().filter((e) => e.level === 50 && e.code === ErrorCodes.TOO_LARGE)).toHaveLength(2);
    await store.close();
  });
  it("an error listener that throws neither holds the caller nor escapes: the caller gets its error, the throw is logged", async () => {
    const { logger, entries } = capturingLogger();
    const { backend, fail } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0, logger });
    store.on("error", () => {
      throw new Error("a buggy listener");
    });
    fail("upsert");
    await expect(store.set("a", sessionWith())).rejects.toMatchObject({ code: ErrorCodes.BACKEND });
    const [err] = await new Promise<unknown[]>((resolve) => store.set("a", sessionWith(), (...args) => resolve(args)));
    expect(err).toMatchObject({ code: ErrorCodes.BACKEND });
    // A bad id fails before any I/O, on the same path.
    await expect(store.destroy("")).rejects.toMatchObject({ code: ErrorCodes.INVALID_ID });
    expect(entries().filter((e) => e.level === 50 && /error listener threw/.test(String(e.msg)))).toHaveLength(3);
    await store.close();
  });
});

describe("garbage collection stays gentle", () => {
  it("sizes batches to take gcBatchTime at the pace measured, and yields the event loop between batches", async () => {
    const { backend, inner, calls, delay } = instrumentedBackend();
    for (let i = 0; i < 1000; i++) {
      await inner.upsert({ id: `old-${i}`, payload: "{}", expiresAt: Date.now() - 1, owner: null, now: 0 });
    }
    const store = createStore(backend, { gcInterval: 0, gcBatchSize: 400, gcBatchTime: 5 });
    await store.length();
    // Every batch takes eight times its 5 ms target: a timer may fire a fraction of a millisecond
    // early, so at four times a batch measured 19.8 ms and the next was 101, not 100.
    delay("deleteExpired", 40);
    let ranBetween = false;
    const pruning = store.prune();
    setImmediate(() => {
      ranBetween = calls.filter((c) => c.method === "deleteExpired").length < 4;
    });
    expect(await pruning).toBe(1000);
    // 400 took 8x too long: a quarter next (the most a size moves at once), then no smaller than the floor of 100.
    expect(calls.filter((c) => c.method === "deleteExpired").map((c) => c.args[1])).toEqual([
      400, 100, 100, 100, 100, 100, 100, 100,
    ]);
    expect(ranBetween).toBe(true);
    await store.close();
  });
});
