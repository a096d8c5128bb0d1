import { Browser } from "@sessionkit/conformance";
import { createStore, type SessionkitStore } from "@sessionkit/core";
import { redisAdapter } from "@sessionkit/redis";
import { RedisStore } from "connect-redis";
import type { SessionData } from "express-session";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { NO_EXPIRY } from "../src/backend.js";
import { type App, startApp } from "./support/app.js";
import { dropPrefix, ioRedis, need, nodeRedis, redisGate, testPrefix } from "./support/redis.js";

const skip = await redisGate();
const HOUR = 3_600_000;

/** An express-session session as express-session hands it to a store (a cookie with an expiry). */
function session(fields: Record<string, unknown>, expires = new Date(Date.now() + HOUR)): SessionData {
  return {
    cookie: { originalMaxAge: HOUR, expires, httpOnly: true, path: "/" },
    ...fields,
  } as unknown as SessionData;
}

/** connect-redis's own calls, as promises (its callback style is the one express-session uses). */
const call = <T>(start: (cb: (err: unknown, value?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value as T))));

describe.skipIf(skip)("connect-redis 9 data in place", () => {
  let redis: Awaited<ReturnType<typeof nodeRedis>>;
  let theirs: RedisStore;
  let ours: SessionkitStore;
  const prefix = testPrefix("legacy");

  beforeAll(async () => {
    redis = await nodeRedis();
    theirs = new RedisStore({ client: redis, prefix });
    ours = createStore(redisAdapter(redis, { prefix, connectRedis: true }), {
      gcInterval: 0,
      owner: (s) => s.user as string | undefined,
    });
  });
  beforeEach(() => dropPrefix(redis, prefix));
  afterAll(async () => {
    await ours?.close();
    if (redis) await dropPrefix(redis, prefix);
    await redis?.close();
  });

  it("reads what connect-redis wrote: the session, its expiry from the key's TTL, no creation time", async () => {
    await call((cb) => theirs.set("cr-1", session({ user: "ann", views: 3 }), cb));
    const record = await ours.backend.get("cr-1", Date.now());
    expect(record).toMatchObject({ id: "cr-1", owner: null });
    expect(record?.payload).toBe(await redis.get(`${prefix}cr-1`));
    expect(record?.expiresAt).toBe(await redis.pExpireTime(`${prefix}cr-1`));
    expect(record?.createdAt).toBeUndefined();
    expect(record?.lastActiveAt).toBeUndefined();
    expect(await ours.get("cr-1")).toMatchObject({ user: "ann", views: 3 });
    expect(await ours.length()).toBe(1);
    expect(await ours.ids()).toEqual(["cr-1"]);
    expect(Object.keys(await ours.all())).toEqual(["cr-1"]);
  });

  it("a touch moves connect-redis's key TTL and starts the metadata (created now, owner indexed)", async () => {
    await call((cb) => theirs.set("cr-2", session({ user: "ben" }), cb));
    const later = new Date(Date.now() + 5 * HOUR);
    await ours.touch("cr-2", session({ user: "ben" }, later));
    expect(await redis.pExpireTime(`${prefix}cr-2`)).toBe(later.getTime());
    const record = await ours.backend.get("cr-2", Date.now());
    expect(record?.createdAt).toBeTypeOf("number");
    expect((await ours.sessionsOf("ben")).map((s) => s.id)).toEqual(["cr-2"]);
    // connect-redis still reads it unchanged.
    expect(await call((cb) => theirs.get("cr-2", cb))).toMatchObject({ user: "ben" });
  });

  it("what we rewrite, connect-redis reads; our metadata and tombstones stay out of its sight", async () => {
    for (const id of ["a", "b", "c"]) await call((cb) => theirs.set(id, session({ user: id, views: 1 }), cb));
    await ours.set("a", session({ user: "a", views: 2 }));
    await ours.set("new", session({ user: "n", views: 1 }));
    await ours.destroy("c");
    expect(await call((cb) => theirs.get("a", cb))).toMatchObject({ user: "a", views: 2 });
    expect(await call((cb) => theirs.get("new", cb))).toMatchObject({ user: "n" });
    expect(await call((cb) => theirs.get("c", cb))).toBeNull();
    expect(await call((cb) => theirs.length(cb))).toBe(3);
    expect((await call<string[]>((cb) => theirs.ids(cb))).sort()).toEqual(["a", "b", "new"]);
    expect((await ours.ids()).sort()).toEqual(["a", "b", "new"]);
    // A tombstone holds against our writes; connect-redis knows nothing of it (it can write the id).
    await ours.set("c", session({ user: "c", views: 9 }));
    expect(await ours.get("c")).toBeNull();
    // connect-redis deletes what we wrote; our leftover metadata does not bring anything back.
    await call((cb) => theirs.destroy("a", cb));
    expect(await ours.get("a")).toBeNull();
    await call((cb) => theirs.clear(cb));
    expect(await ours.length()).toBe(0);
  });

  it("a key without TTL (connect-redis's disableTTL) is live until touched, which gives it an expiry", async () => {
    const noTtl = new RedisStore({ client: redis, prefix, disableTTL: true });
    await call((cb) => noTtl.set("forever", session({ user: "fay" }), cb));
    expect(await redis.pExpireTime(`${prefix}forever`)).toBe(-1);
    expect((await ours.backend.get("forever", Date.now()))?.expiresAt).toBe(NO_EXPIRY);
    expect(await ours.get("forever")).toMatchObject({ user: "fay" });
    expect(await ours.length()).toBe(1);
    const expires = new Date(Date.now() + HOUR);
    await ours.touch("forever", session({ user: "fay" }, expires));
    expect(await redis.pExpireTime(`${prefix}forever`)).toBe(expires.getTime());
  });

  it("connect-redis's expiry is honoured at the store's clock, like ours", async () => {
    let now = Date.now();
    const clocked = createStore(redisAdapter(redis, { prefix }), { gcInterval: 0, now: () => now });
    try {
      await call((cb) => theirs.set("short", session({}, new Date(now + 10_000)), cb));
      expect(await clocked.length()).toBe(1);
      now += 11_000;
      expect(await clocked.get("short")).toBeNull();
      expect(await clocked.length()).toBe(0);
      await clocked.touch("short", session({}, new Date(now + HOUR)));
      expect(await clocked.get("short")).toBeNull(); // a late touch never revives it
    } finally {
      await clocked.close();
    }
  });
});

describe.skipIf(skip).each([
  ["node-redis", () => nodeRedis()],
  ["ioredis", () => ioRedis()],
] as const)("switching an app between connect-redis 9 and sessionkit (%s) over HTTP", (name, connect) => {
  const prefix = testPrefix(`switch-${name}`);
  let redis: Awaited<ReturnType<typeof nodeRedis>>;
  let ourClient: Awaited<ReturnType<typeof connect>>;
  let app: App | undefined;

  beforeAll(async () => {
    redis = await nodeRedis(); // connect-redis 9 speaks node-redis 5 only
    ourClient = await connect();
  });
  afterAll(async () => {
    await app?.close();
    if (redis) await dropPrefix(redis, prefix);
    await redis?.close();
    const c = ourClient as { close?: () => Promise<unknown>; quit?: () => Promise<unknown> };
    await (c?.close ?? c?.quit)?.call(ourClient);
  });

  /** Runs the app on connect-redis, or on sessionkit (closed with the app). */
  async function deploy(on: "connect-redis" | "sessionkit"): Promise<string> {
    await app?.close();
    if (on === "connect-redis") {
      app = await startApp(new RedisStore({ client: redis, prefix }));
      return app.url;
    }
    const store = createStore(redisAdapter(need(ourClient), { prefix, connectRedis: true }), {
      gcInterval: 0,
      owner: (s) => s.user as string | undefined,
    });
    const started = await startApp(store);
    app = { url: started.url, close: () => started.close().then(() => store.close()) };
    return app.url;
  }

  /** Each user's browser, moved to the app's new address with its cookie. */
  function follow(browsers: Browser[], url: string): Browser[] {
    return browsers.map((old) => {
      const moved = new Browser(url);
      moved.useCookieOf(old);
      return moved;
    });
  }

  it("every user stays logged in with their changes, both ways, twice", async () => {
    const users = ["ada", "bo", "cy", "di"];
    let url = await deploy("connect-redis");
    let browsers = users.map(() => new Browser(url));
    for (const [i, user] of users.entries()) {
      expect((await browsers[i]?.request("POST", `/login/${user}`))?.status).toBe(200);
      await browsers[i]?.request("POST", "/count");
    }
    const ids = browsers.map((b) => b.sessionId);

    let expectedViews = 1;
    for (const on of ["sessionkit", "connect-redis", "sessionkit"] as const) {
      url = await deploy(on);
      browsers = follow(browsers, url);
      for (const [i, user] of users.entries()) {
        const me = await browsers[i]?.request("GET", "/me");
        expect(me?.body, `${user} on ${on}`).toMatchObject({ user, views: expectedViews, id: ids[i] });
        expect((await browsers[i]?.request("POST", "/count"))?.body).toMatchObject({ user, views: expectedViews + 1 });
      }
      expectedViews++;
    }
    // On sessionkit now: the owner index found every user's session (written or touched by us).
    const store = createStore(redisAdapter(need(ourClient), { prefix }), {
      gcInterval: 0,
      owner: (s) => s.user as string | undefined,
    });
    try {
      for (const [i, user] of users.entries()) {
        expect((await store.sessionsOf(user)).map((s) => s.id)).toEqual([ids[i]]);
      }
      expect(await store.length()).toBe(users.length);
    } finally {
      await store.close();
    }
  });
});
