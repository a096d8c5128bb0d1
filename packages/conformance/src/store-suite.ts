import { setTimeout as sleep } from "node:timers/promises";
import { createStore, type SessionBackend, type SessionkitStore } from "@sessionkit/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Browser } from "./http-client.js";
import type { ConformanceOptions } from "./options.js";
import { startTestApp, type TestApp } from "./test-app.js";

const SHORT_MAX_AGE = 400;
const ROLLING_MAX_AGE = 1200;

/**
 * Runs the store over the backend through a real express 5 + express-session app over real
 * HTTP: what a user of the store sees. `factory` is called once; the store closes it at the end.
 */
export function storeConformance(
  name: string,
  factory: () => SessionBackend | Promise<SessionBackend>,
  options: ConformanceOptions = {},
): void {
  describe.skipIf(Boolean(options.skip))(`Store over HTTP: ${name}`, () => {
    let store: SessionkitStore;
    let app: TestApp;

    beforeAll(async () => {
      store = createStore(await factory(), {
        gcInterval: 0, // expiry must hold without any garbage collection
        ...(options.owners === false ? {} : { owner: (s) => s.user as string | undefined }),
      });
      app = await startTestApp(store, { maxAge: 3_600_000 });
    });
    beforeEach(async () => {
      await store.clear();
    });
    afterAll(async () => {
      await app?.close();
      await store?.close();
    });

    it("a session persists across requests", async () => {
      const browser = new Browser(app.url);
      for (let i = 1; i <= 3; i++) expect((await browser.request("GET", "/count")).body.views).toBe(i);
      const id = browser.sessionId as string;
      expect((await browser.request("GET", "/peek")).body.id).toBe(id);
      expect(await store.get(id)).toMatchObject({ views: 3 });
    });

    it("an expired session is never returned, counted or listed, before any GC", async () => {
      const browser = new Browser(app.url);
      await browser.request("GET", `/count?maxAge=${SHORT_MAX_AGE}`);
      const expiredId = browser.sessionId as string;
      await sleep(SHORT_MAX_AGE + 300);
      expect(await store.get(expiredId)).toBeNull();
      expect(await store.length()).toBe(0);
      expect(await store.ids()).toEqual([]);
      expect(await store.all()).toEqual({});
      // Replaying the expired cookie starts a fresh session.
      const replay = await browser.request("GET", "/count");
      expect(replay.body.views).toBe(1);
      expect(replay.body.id).not.toBe(expiredId);
    });

    it("touches keep a session alive past its first expiry", async () => {
      const browser = new Browser(app.url);
      await browser.request("GET", `/count?maxAge=${ROLLING_MAX_AGE}`);
      const id = browser.sessionId as string;
      const firstExpiry = (await store.backend.get(id, Date.now()))?.expiresAt as number;
      for (let i = 0; i < 4; i++) {
        await sleep(ROLLING_MAX_AGE / 3);
        const peek = await browser.request("GET", "/peek");
        expect(peek.body).toMatchObject({ views: 1, id });
      }
      // More than maxAge has passed since the only write: touches kept it alive.
      expect((await store.backend.get(id, Date.now()))?.expiresAt).toBeGreaterThan(firstExpiry);
      expect(await store.get(id)).toMatchObject({ views: 1 });
    });

    it("destroy logs the visitor out and removes the session", async () => {
      const browser = new Browser(app.url);
      await browser.request("GET", "/count");
      const id = browser.sessionId as string;
      expect((await browser.request("POST", "/logout")).status).toBe(200);
      expect(await store.get(id)).toBeNull();
      const after = await browser.request("GET", "/count");
      expect(after.body).toMatchObject({ views: 1 });
      expect(after.body.id).not.toBe(id);
    });

    it("regenerate moves the visitor to a new id and deletes the old one", async () => {
      const browser = new Browser(app.url);
      await browser.request("GET", "/count");
      const oldId = browser.sessionId as string;
      const login = await browser.request("POST", "/login/alice");
      expect(login.body.id).not.toBe(oldId);
      expect(browser.sessionId).toBe(login.body.id);
      expect(await store.get(oldId)).toBeNull();
      expect(await store.get(login.body.id as string)).toMatchObject({ user: "alice", views: 1 });
    });

    it("50 parallel requests on one cookie all succeed", async () => {
      const browser = new Browser(app.url);
      await browser.request("GET", "/count");
      const responses = await Promise.all(Array.from({ length: 50 }, () => browser.request("GET", "/count")));
      expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
      // Concurrent read-modify-writes of one session may overwrite each other (last write
      // wins); what must never happen is an error or a lost session.
      const views = (await browser.request("GET", "/peek")).body.views as number;
      expect(views).toBeGreaterThanOrEqual(2);
      expect(views).toBeLessThanOrEqual(51);
    });

    if (options.owners === false) {
      it("destroyByOwner fails with ERR_SESSION_UNSUPPORTED", async () => {
        await expect(store.destroyByOwner("alice")).rejects.toMatchObject({ code: "ERR_SESSION_UNSUPPORTED" });
      });
    } else {
      it("destroyByOwner logs one user out everywhere and nobody else", async () => {
        const [laptop, phone, bob] = [new Browser(app.url), new Browser(app.url), new Browser(app.url)];
        await laptop.request("POST", "/login/alice");
        await phone.request("POST", "/login/alice");
        await bob.request("POST", "/login/bob");
        expect(await store.destroyByOwner("alice")).toBe(2);
        expect((await laptop.request("GET", "/peek")).body.user).toBeNull();
        expect((await phone.request("GET", "/peek")).body.user).toBeNull();
        expect((await bob.request("GET", "/peek")).body.user).toBe("bob");
      });
    }

    it("all, ids and length list the live sessions", async () => {
      const browsers = [new Browser(app.url), new Browser(app.url), new Browser(app.url)];
      for (const b of browsers) await b.request("GET", "/count");
      const ids = browsers.map((b) => b.sessionId as string).sort();
      expect((await store.ids()).sort()).toEqual(ids);
      expect(await store.length()).toBe(3);
      const all = await store.all();
      expect(Object.keys(all).sort()).toEqual(ids);
      expect(all[ids[0] as string]).toMatchObject({ views: 1 });
    });

    it("a stored record that can't be read back is treated as missing", async () => {
      await store.backend.upsert({
        id: "corrupt",
        payload: "{not json",
        expiresAt: Date.now() + 60_000,
        owner: null,
        now: Date.now(),
      });
      expect(await store.get("corrupt")).toBeNull();
      expect(await store.all()).toEqual({});
    });

    it("prune deletes expired sessions and keeps live ones", async () => {
      const expired = new Browser(app.url);
      const alive = new Browser(app.url);
      await expired.request("GET", `/count?maxAge=${SHORT_MAX_AGE}`);
      await alive.request("GET", "/count");
      await sleep(SHORT_MAX_AGE + 300);
      expect(await store.prune()).toBe(1);
      expect(await store.backend.get(expired.sessionId as string, Date.now())).toBeNull();
      expect(await store.get(alive.sessionId as string)).toMatchObject({ views: 1 });
    });
  });
}
