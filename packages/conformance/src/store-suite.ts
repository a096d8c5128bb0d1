import type { SessionBackend } from "@sessionkit/core";
import { describe, expect, it } from "vitest";
import { LogLevel } from "./logs.js";
import type { ConformanceOptions } from "./options.js";
import { COOKIE_MAX_AGE_MS, expectMoment, type Harness, HOUR, MINUTE, TTL_MS, useHarness } from "./store-harness.js";
import { logoutScenarios } from "./store-logout.js";
import type { Framework } from "./test-app.js";

const FRAMEWORKS: readonly Framework[] = ["express", "fastify"];
/** `touchAfter` of the two stores per framework, in seconds: every touch written, and touches skipped within a minute. */
const TOUCH_AFTER: readonly number[] = [0, 60];

/**
 * Runs the store over the backend as a user sees it: real apps (express 5 + express-session, and
 * fastify 5 + @fastify/session) over real HTTP, each with a store that writes every touch and one
 * that skips touches within a minute (`touchAfter`). Time passes only when a scenario moves the
 * store's clock; slow requests wait at gates the scenario opens. `factory` is called once per app
 * (four times); each store closes its backend at the end. Tests run one at a time and clear the
 * store first, so the backends may share one database or not.
 */
export function storeConformance(
  name: string,
  factory: () => SessionBackend | Promise<SessionBackend>,
  options: ConformanceOptions = {},
): void {
  describe.skipIf(Boolean(options.skip))(`Store over HTTP: ${name}`, () => {
    for (const framework of FRAMEWORKS) {
      for (const touchAfter of TOUCH_AFTER) {
        describe(`${framework}, touchAfter ${touchAfter} s`, () => {
          const h = useHarness(factory, options, framework, touchAfter);
          sessionScenarios(h);
          logoutScenarios(h);
        });
      }
    }
  });
}

/** Sessions through their life: persistence, expiry, touches, destroy, regenerate, listing, bad records, prune. */
function sessionScenarios(h: Harness): void {
  it("a session persists across requests", async () => {
    const browser = h.app.browser();
    for (let i = 1; i <= 3; i++) {
      const response = await browser.request("GET", "/count");
      expect(response).toMatchObject({ status: 200, body: { views: i, id: browser.sessionId } });
    }
    const id = browser.sessionId as string;
    expect(id).toEqual(expect.any(String));
    expect((await browser.request("GET", "/peek")).body).toMatchObject({ views: 3, id });
    expect(await h.store.get(id)).toMatchObject({ views: 3 });
  });

  it("an expired session is never returned, counted or listed, before any GC; its replayed cookie starts afresh", async () => {
    // One session expires with its cookie (maxAge 30 min), one by the store's ttl (1 h).
    const byCookie = h.app.browser();
    const byTtl = h.app.browser();
    await byCookie.request("GET", `/count?maxAge=${COOKIE_MAX_AGE_MS}`);
    await byTtl.request("GET", "/count");
    const [cookieId, ttlId] = [byCookie.sessionId as string, byTtl.sessionId as string];
    expect(await h.store.length()).toBe(2);

    h.clock.advance(COOKIE_MAX_AGE_MS + MINUTE);
    expect(await h.store.get(cookieId)).toBeNull();
    expect(await h.store.get(ttlId)).toMatchObject({ views: 1 });
    expect(await h.store.length()).toBe(1);
    expect(await h.store.ids()).toEqual([ttlId]);
    expect(Object.keys(await h.store.all())).toEqual([ttlId]);

    h.clock.advance(TTL_MS);
    expect(await h.store.get(ttlId)).toBeNull();
    expect(await h.store.length()).toBe(0);
    expect(await h.store.ids()).toEqual([]);
    expect(await h.store.all()).toEqual({});

    for (const [browser, expiredId] of [
      [byCookie, cookieId],
      [byTtl, ttlId],
    ] as const) {
      const replay = await browser.request("GET", "/count");
      expect(replay.status).toBe(200);
      expect(replay.body.views).toBe(1);
      expect(replay.body.id).not.toBe(expiredId);
    }
  });

  it("touches keep a session alive past its first expiry", async () => {
    const browser = h.app.browser();
    await browser.request("GET", "/count");
    const id = browser.sessionId as string;
    const firstExpiry = h.clock.now() + TTL_MS;
    expectMoment((await h.store.backend.get(id, h.clock.now()))?.expiresAt, firstExpiry);
    for (let i = 0; i < 4; i++) {
      h.clock.advance(40 * MINUTE);
      const peek = await browser.request("GET", "/peek");
      expect(peek.body).toMatchObject({ views: 1, id });
      expectMoment((await h.store.backend.get(id, h.clock.now()))?.expiresAt, h.clock.now() + TTL_MS);
    }
    expect(h.clock.now()).toBeGreaterThan(firstExpiry + HOUR); // long past the expiry of the only write
    expect(await h.store.get(id)).toMatchObject({ views: 1 });
  });

  it("destroy logs the visitor out and removes the session", async () => {
    const browser = h.app.browser();
    await browser.request("GET", "/count");
    const id = browser.sessionId as string;
    expect((await browser.request("POST", "/logout")).status).toBe(200);
    expect(await h.store.get(id)).toBeNull();
    const after = await browser.request("GET", "/count");
    expect(after.body.views).toBe(1);
    expect(after.body.id).not.toBe(id);
  });

  it("regenerate moves the visitor to a new id and deletes the old one", async () => {
    const browser = h.app.browser();
    await browser.request("GET", "/count");
    const oldId = browser.sessionId as string;
    const login = await browser.request("POST", "/login/alice");
    expect(login.status).toBe(200);
    expect(login.body.id).not.toBe(oldId);
    expect(browser.sessionId).toBe(login.body.id);
    expect(await h.store.get(oldId)).toBeNull();
    expect(await h.store.get(login.body.id as string)).toMatchObject({ user: "alice", views: 1 });
  });

  it("50 parallel requests on one cookie all succeed", async () => {
    const browser = h.app.browser();
    await browser.request("GET", "/count");
    const id = browser.sessionId;
    const responses = await Promise.all(Array.from({ length: 50 }, () => browser.request("GET", "/count")));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(new Set(responses.map((r) => r.body.id))).toEqual(new Set([id]));
    // Concurrent read-modify-writes of one session may overwrite each other (last write wins);
    // what must never happen is an error or a lost session.
    const views = (await browser.request("GET", "/peek")).body.views as number;
    expect(views).toBeGreaterThanOrEqual(2);
    expect(views).toBeLessThanOrEqual(51);
  });

  it("all, ids and length list the live sessions", async () => {
    const browsers = [h.app.browser(), h.app.browser(), h.app.browser()];
    for (const b of browsers) await b.request("GET", "/count");
    const ids = browsers.map((b) => b.sessionId as string).sort();
    expect((await h.store.ids()).sort()).toEqual(ids);
    expect(await h.store.length()).toBe(3);
    const all = await h.store.all();
    expect(Object.keys(all).sort()).toEqual(ids);
    for (const id of ids) expect(all[id]).toMatchObject({ views: 1, cookie: expect.any(Object) });
  });

  it("a stored record that can't be read back reads as missing, and its request gets a fresh session", async () => {
    // Not JSON, and JSON that is not a session. A layout whose column holds only JSON may refuse
    // the first: then there is nothing to read back.
    const unreadable = ["{not json", "{}", "[]", '{"cookie":null}', '{"cookie":"x"}', "null", '"text"', "42"];
    const warningsBefore = h.logs.filter((l) => l.level === LogLevel.warn).length;
    let stored = 0;
    for (const payload of unreadable) {
      const browser = h.app.browser();
      await browser.request("GET", "/count");
      const id = browser.sessionId as string;
      const now = h.clock.now();
      try {
        await h.store.backend.upsert({ id, payload, expiresAt: now + HOUR, owner: null, now });
      } catch (error) {
        if (payload === "{not json") continue;
        throw error;
      }
      stored++;
      expect(await h.store.get(id), payload).toBeNull();
      expect(Object.keys(await h.store.all()), payload).not.toContain(id);
      const after = await browser.request("GET", "/count");
      expect(after.status, payload).toBe(200);
      expect(after.body.views, payload).toBe(1);
      expect(after.body.id, payload).not.toBe(id);
    }
    expect(stored).toBeGreaterThanOrEqual(unreadable.length - 1);
    const warnings = h.logs.filter((l) => l.level === LogLevel.warn).slice(warningsBefore);
    expect(warnings.length).toBeGreaterThanOrEqual(stored);
    expect(warnings[0]?.msg).toMatch(/could not be read back/);
  });

  it("a 1.5 MB session another store wrote is read, changed and written back, not refused", async () => {
    const limit = h.store.backend.capabilities?.maxPayloadBytes ?? Number.POSITIVE_INFINITY;
    if (limit < 2_000_000) return expect(limit).toBeLessThan(2_000_000); // the backend declares it can't hold one
    const browser = h.app.browser();
    await browser.request("GET", "/count");
    const id = browser.sessionId as string;
    const now = h.clock.now();
    const big = "é€x".repeat(250_000); // 1.5 MB in UTF-8
    const cookie = { originalMaxAge: null, expires: null, httpOnly: true, path: "/" };
    const payload = JSON.stringify({ cookie, views: 5, big });
    await h.store.backend.upsert({ id, payload, expiresAt: now + HOUR, owner: null, now });
    const after = await browser.request("GET", "/count");
    expect(after).toMatchObject({ status: 200, body: { views: 6, id } });
    expect(await h.store.get(id)).toMatchObject({ views: 6, big });
  });

  it("prune deletes expired sessions and keeps live ones", async () => {
    const byCookie = h.app.browser();
    const byTtl = h.app.browser();
    await byCookie.request("GET", `/count?maxAge=${COOKIE_MAX_AGE_MS}`); // expires at 30 min
    await byTtl.request("GET", "/count"); // expires at 60 min
    h.clock.advance(50 * MINUTE);
    const alive = h.app.browser();
    await alive.request("GET", "/count"); // expires at 110 min
    h.clock.advance(15 * MINUTE);
    const pruned = await h.store.prune();
    if (h.options.nativeExpiry) {
      // The database expires records by itself, on its own clock: prune may find none of them.
      expect(pruned).toBeLessThanOrEqual(2);
    } else {
      expect(pruned).toBe(2);
      for (const b of [byCookie, byTtl])
        expect(await h.store.backend.get(b.sessionId as string, h.clock.now())).toBeNull();
    }
    for (const b of [byCookie, byTtl]) expect(await h.store.get(b.sessionId as string)).toBeNull();
    expect(await h.store.get(alive.sessionId as string)).toMatchObject({ views: 1 });
    expect(await h.store.length()).toBe(1);
  });
}
