import { payload, write } from "@sessionkit/conformance";
import type { SessionBackend } from "@sessionkit/core";
import { redisAdapter } from "@sessionkit/redis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { recording } from "./support/recording.js";
import { dropPrefix, ioRedis, nodeRedis, redisGate, testPrefix } from "./support/redis.js";

const skip = await redisGate();
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe.skipIf(skip)("key layout (node-redis, standalone)", () => {
  let redis: Awaited<ReturnType<typeof nodeRedis>>;
  let backend: SessionBackend;
  const prefix = testPrefix("layout");
  const T0 = Date.now();

  beforeAll(async () => {
    redis = await nodeRedis();
    backend = redisAdapter(redis, { prefix });
    await backend.init();
  });
  beforeEach(() => dropPrefix(redis, prefix));
  afterAll(async () => {
    if (redis) await dropPrefix(redis, prefix);
    await redis?.close();
  });

  /** Every key of this prefix, sorted (the session keys and the braced keys beside them). */
  async function keys(): Promise<string[]> {
    const found: string[] = [];
    for (const match of [`${prefix}*`, `{${prefix}*`]) {
      for await (const page of redis.scanIterator({ MATCH: match })) found.push(...page);
    }
    return found.sort();
  }

  it("a session is its payload at <prefix><id>, expiring at its expiry; metadata and owner index beside it", async () => {
    const expiresAt = T0 + HOUR;
    await backend.upsert(write("abc", expiresAt, { payload: payload({ n: 1 }), owner: "alice", now: T0 }));
    const key = `${prefix}abc`;
    expect(await keys()).toEqual([`${prefix}abc`, `{${prefix}abc}:m`, `{${prefix}alice}:o`].sort());
    expect(await redis.get(key)).toBe(payload({ n: 1 }));
    expect(await redis.pExpireTime(key)).toBe(expiresAt);
    expect(await redis.get(`{${key}}:m`)).toBe(`${T0} ${T0} alice`);
    expect(await redis.pExpireTime(`{${key}}:m`)).toBe(expiresAt);
    expect(await redis.zRangeWithScores(`{${prefix}alice}:o`, 0, -1)).toEqual([{ value: "abc", score: expiresAt }]);
    expect(await redis.pExpireTime(`{${prefix}alice}:o`)).toBe(expiresAt);
  });

  it("a session without owner has no owner field and no index", async () => {
    await backend.upsert(write("solo", T0 + HOUR, { now: T0 }));
    expect(await keys()).toEqual([`${prefix}solo`, `{${prefix}solo}:m`].sort());
    expect(await redis.get(`{${prefix}solo}:m`)).toBe(`${T0} ${T0}`);
  });

  it("a destroy with a tombstone leaves only the tombstone in the metadata key, expiring at its end", async () => {
    await backend.upsert(write("gone", T0 + HOUR, { owner: "gil", now: T0 }));
    await backend.destroy("gone", { now: T0 + 1, until: T0 + HOUR / 2 });
    expect(await keys()).toEqual([`{${prefix}gil}:o`, `{${prefix}gone}:m`].sort());
    expect(await redis.get(`{${prefix}gone}:m`)).toBe(`t ${T0 + HOUR / 2}`);
    expect(await redis.pExpireTime(`{${prefix}gone}:m`)).toBe(T0 + HOUR / 2);
    // Destroying an id that is not stored (a tombstone is not a session) writes nothing.
    await backend.destroy("gone", { now: T0 + 2, until: T0 + HOUR });
    await backend.destroy("never", { now: T0 + 2, until: T0 + HOUR });
    expect(await redis.get(`{${prefix}gone}:m`)).toBe(`t ${T0 + HOUR / 2}`);
    expect(await keys()).toEqual([`{${prefix}gil}:o`, `{${prefix}gone}:m`].sort());
    // A destroy without tombstone (a store with tombstoneTtl 0) deletes the metadata key, whatever it holds.
    await backend.destroy("gone");
    expect(await keys()).toEqual([`{${prefix}gil}:o`]);
  });

  it("a touch moves the expiry of the session, its metadata and its index entry, not the payload", async () => {
    await backend.upsert(write("t", T0 + HOUR, { owner: "bob", now: T0 }));
    await backend.touch({ id: "t", expiresAt: T0 + 3 * HOUR, now: T0 + 5, owner: "bob" });
    expect(await redis.pExpireTime(`${prefix}t`)).toBe(T0 + 3 * HOUR);
    expect(await redis.pExpireTime(`{${prefix}t}:m`)).toBe(T0 + 3 * HOUR);
    expect(await redis.get(`{${prefix}t}:m`)).toBe(`${T0} ${T0 + 5} bob`);
    expect(await redis.zScore(`{${prefix}bob}:o`, "t")).toBe(T0 + 3 * HOUR);
    // Listed at a moment past the first expiry: the index followed the touch.
    expect((await backend.listByOwner("bob", T0 + 2 * HOUR)).map((r) => r.id)).toEqual(["t"]);
  });

  it("an owner set lives as long as its longest member, and drops expired members on later writes", async () => {
    const set = `{${prefix}carol}:o`;
    await backend.upsert(write("long", T0 + 5 * HOUR, { owner: "carol", now: T0 }));
    await backend.upsert(write("short", T0 + HOUR, { owner: "carol", now: T0 }));
    expect(await redis.pExpireTime(set)).toBe(T0 + 5 * HOUR); // not shortened by the later, shorter member
    await backend.touch({ id: "short", expiresAt: T0 + 9 * HOUR, now: T0 + 1, owner: "carol" });
    expect(await redis.pExpireTime(set)).toBe(T0 + 9 * HOUR);
    await backend.touch({ id: "short", expiresAt: T0 + 2 * HOUR, now: T0 + 2, owner: "carol" });
    expect(await redis.pExpireTime(set)).toBe(T0 + 9 * HOUR); // never shorter than a member once was
    // A write after "short" expired (time moved on, the key may still be there): it leaves the set.
    await backend.upsert(write("third", T0 + 6 * HOUR, { owner: "carol", now: T0 + 3 * HOUR }));
    expect((await redis.zRange(set, 0, -1)).sort()).toEqual(["long", "third"]);
  });

  it("an owner with spaces, quotes and astral characters survives the metadata string", async () => {
    const owner = 'Ann O\'Neil  🍪 "x" 12 34';
    await backend.upsert(write("spaced", T0 + HOUR, { owner, now: T0 }));
    await backend.touch({ id: "spaced", expiresAt: T0 + 2 * HOUR, now: T0 + 1, owner });
    expect(await backend.get("spaced", T0)).toMatchObject({ owner, createdAt: T0, lastActiveAt: T0 + 1 });
    expect((await backend.listByOwner(owner, T0)).map((r) => r.id)).toEqual(["spaced"]);
    expect(await backend.destroyByOwner(owner, { tombstone: { now: T0 + 2, until: T0 + HOUR } })).toBe(1);
    expect(await backend.get("spaced", T0)).toBeNull();
  });

  it("an update that changes the owner leaves the old index entry, which nothing trusts", async () => {
    await backend.upsert(write("moved", T0 + HOUR, { owner: "dave", now: T0 }));
    await backend.upsert(write("moved", T0 + HOUR, { owner: "erin", now: T0 + 1 }));
    expect(await redis.zRange(`{${prefix}dave}:o`, 0, -1)).toEqual(["moved"]);
    expect(await backend.listByOwner("dave", T0)).toEqual([]);
    expect(await backend.destroyByOwner("dave")).toBe(0);
    expect(await backend.get("moved", T0)).not.toBeNull();
    // destroyByOwner dropped the stale entry.
    expect(await redis.exists(`{${prefix}dave}:o`)).toBe(0);
  });

  it("count, stream and clear see only this prefix's keys, whatever glob characters it has", async () => {
    const odd = testPrefix("glob*?[x]\\");
    const other = redisAdapter(redis, { prefix: odd });
    // Keys an unescaped pattern would take for the odd prefix's: a neighbour's session and tombstone.
    const lookalike = `${odd.replace("*?[x]\\", "Ax")}x`;
    await redis.set(lookalike, payload(), { PX: HOUR });
    await redis.set(`{${lookalike}}:t`, String(T0 + HOUR), { PX: HOUR });
    try {
      await backend.upsert(write("mine", T0 + HOUR, { now: T0 }));
      await other.upsert(write("theirs", T0 + HOUR, { owner: "x", now: T0 }));
      expect(await other.count(T0)).toBe(1);
      expect(await backend.count(T0)).toBe(1);
      await other.clear();
      expect(await other.count(T0)).toBe(0);
      expect(await backend.count(T0)).toBe(1);
      expect(await redis.exists([lookalike, `{${lookalike}}:t`])).toBe(2);
    } finally {
      await redis.del([lookalike, `{${lookalike}}:t`]);
      await dropPrefix(redis, odd);
    }
  });
});

describe.skipIf(skip).each([
  ["node-redis", async () => recording(await nodeRedis(), "sendCommand", (args) => args[0] as unknown[])],
  ["ioredis", async () => recording(await ioRedis(), "call", (args) => args)],
] as const)("one round trip per hot-path operation (%s, standalone)", (_name, connect) => {
  let recorded: Awaited<ReturnType<typeof connect>>;
  let backend: SessionBackend;
  const prefix = testPrefix(`trips-${_name}`);
  const T0 = Date.now();

  beforeAll(async () => {
    recorded = await connect();
    backend = redisAdapter(recorded.client, { prefix });
    await backend.init();
  });
  afterAll(async () => {
    await backend?.clear();
    const client = recorded?.client as { quit?: () => Promise<unknown>; close?: () => Promise<unknown> };
    await (client?.close ?? client?.quit)?.call(recorded.client);
  });

  /** The commands `operation` sent. */
  async function sentBy(operation: () => Promise<unknown>): Promise<string[]> {
    recorded.sent.length = 0;
    await operation();
    return recorded.sent.map((s) => s.command);
  }

  it("get, upsert (with owner), touch and destroy each send one command", async () => {
    expect(await sentBy(() => backend.upsert(write("hot", T0 + HOUR, { owner: "o", now: T0 })))).toEqual(["EVALSHA"]);
    expect(await sentBy(() => backend.get("hot", T0))).toEqual(["EVALSHA"]);
    expect(await sentBy(() => backend.touch({ id: "hot", expiresAt: T0 + 2 * HOUR, now: T0, owner: "o" }))).toEqual([
      "EVALSHA",
    ]);
    expect(await sentBy(() => backend.destroy("hot", { now: T0, until: T0 + HOUR }))).toEqual(["EVALSHA"]);
    expect(await sentBy(() => backend.destroy("other"))).toEqual(["DEL"]);
    expect(await sentBy(() => backend.deleteExpired(T0 + 10 * HOUR, 100))).toEqual([]);
  });
});
