import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { Browser } from "@sessionkit/conformance";
import { createStore } from "@sessionkit/core";
import express from "express";
import session, { type Store } from "express-session";
import { describe, expect, it } from "vitest";
import { type DatabankLike, databankAdapter } from "../src/index.js";
import { bankCall, memoryBanks, rawRead, scanAll } from "./helpers.js";

// connect-databank 1.0.3, the store being replaced: CommonJS, no types.
const require = createRequire(import.meta.url);
type Callback = (error: unknown, value?: unknown) => void;
interface OldStore {
  get(sid: string, cb: Callback): void;
  set(sid: string, sess: object, cb: Callback): void;
  all(cb: Callback): void;
  length(cb: Callback): void;
  clear(cb: Callback): void;
  cleanup(cb: Callback): void;
}
const DatabankStore = require("connect-databank")(session) as new (
  bank: DatabankLike,
  log: null,
  interval: number,
) => OldStore;
const old = <T = unknown>(bank: DatabankLike, run: (store: OldStore, cb: Callback) => void) =>
  new Promise<T>((resolve, reject) =>
    run(new DatabankStore(bank, null, 0), (e, v) => (e ? reject(e) : resolve(v as T))),
  );

const HOUR = 3_600_000;
const NOW = Date.now();
const iso = (at: number) => new Date(at).toISOString();
/** A session as express-session serializes it. */
const expressSession = (expires: number | null, fields: Record<string, unknown> = {}) => ({
  cookie: {
    originalMaxAge: expires === null ? null : HOUR,
    expires: expires === null ? null : iso(expires),
    httpOnly: true,
    path: "/",
  },
  ...fields,
});

const bank = memoryBanks();

describe("connect-databank's records, read in place", () => {
  it("get, all, ids and length serve a record connect-databank wrote, by its cookie expiry", async () => {
    const b = await bank();
    await old(b, (s, cb) => s.set("alice", expressSession(NOW + HOUR, { user: "alice", cart: [1, 2] }), cb));
    const backend = databankAdapter(b);
    await backend.init();
    const record = await backend.get("alice", NOW);
    expect(record).toEqual({
      id: "alice",
      payload: JSON.stringify(expressSession(NOW + HOUR, { user: "alice", cart: [1, 2] })), // without connect-databank's sid
      expiresAt: NOW + HOUR,
      owner: null,
    });
    const store = createStore(backend, { gcInterval: 0, now: () => NOW });
    expect(await store.get("alice")).toMatchObject({ user: "alice", cart: [1, 2] });
    expect(await store.ids()).toEqual(["alice"]);
    expect(await store.length()).toBe(1);
    // Expired by its cookie: never returned or counted.
    await old(b, (s, cb) => s.set("gone", expressSession(NOW - 1), cb));
    expect(await store.get("gone")).toBeNull();
    expect(await store.length()).toBe(1);
    await store.close();
  });

  it("a browser-session cookie (no expiry) lives legacyTtl from each read", async () => {
    const b = await bank();
    await old(b, (s, cb) => s.set("carol", expressSession(null, { user: "carol" }), cb));
    const backend = databankAdapter(b, { legacyTtl: 2 * HOUR });
    await backend.init();
    expect((await backend.get("carol", NOW))?.expiresAt).toBe(NOW + 2 * HOUR);
    expect((await backend.get("carol", NOW + 5 * HOUR))?.expiresAt).toBe(NOW + 7 * HOUR);
  });

  it("records of this adapter's 0.1 layout are read too", async () => {
    const b = await bank();
    const v1 = {
      sessionkit: 1,
      sid: "v1",
      payload: JSON.stringify(expressSession(null, { n: 1 })),
      expiresAt: NOW + HOUR,
      owner: "u1",
    };
    await bankCall((cb) => b.save("session", "v1", v1, cb));
    const backend = databankAdapter(b);
    await backend.init();
    expect(await backend.get("v1", NOW)).toEqual({ id: "v1", payload: v1.payload, expiresAt: NOW + HOUR, owner: "u1" });
    expect(await backend.count(NOW)).toBe(1);
  });

  it("reindex() lists them for GC: each collected at its cookie's expiry, a browser-session one legacyTtl after", async () => {
    const b = await bank();
    await old(b, (s, cb) => s.set("expired", expressSession(NOW - 1), cb));
    await old(b, (s, cb) => s.set("live", expressSession(NOW + HOUR), cb));
    await old(b, (s, cb) => s.set("browser", expressSession(null), cb));
    await bankCall((cb) => b.save("session", "junk", [1, 2], cb));
    const backend = databankAdapter(b, { legacyTtl: 2 * HOUR });
    await backend.init();
    // Before reindex() no index lists them: GC finds nothing (it never scans).
    expect(await backend.deleteExpired(NOW + 3 * HOUR, 100)).toBe(0);
    expect(await backend.reindex(NOW)).toEqual({ indexed: 3, unreadable: 1 });
    expect(await backend.deleteExpired(NOW, 100)).toBe(1);
    expect(await rawRead(b, "session", "expired")).toBeUndefined();
    expect(await backend.deleteExpired(NOW + HOUR, 100)).toBe(1);
    expect(await rawRead(b, "session", "browser")).toBeDefined();
    expect(await backend.deleteExpired(NOW + 2 * HOUR + 60_000, 100)).toBe(1);
    expect(await scanAll(b, "session")).toEqual([[1, 2]]);
  });

  it("a write or a touch turns one into sessionkit's record, indexed from then on", async () => {
    const b = await bank();
    await old(b, (s, cb) => s.set("touched", expressSession(NOW + HOUR, { n: 1 }), cb));
    const backend = databankAdapter(b);
    await backend.init();
    await backend.touch({ id: "touched", expiresAt: NOW + 2 * HOUR, now: NOW, owner: null });
    expect(await backend.get("touched", NOW)).toMatchObject({
      expiresAt: NOW + 2 * HOUR,
      createdAt: NOW,
      lastActiveAt: NOW,
    });
    expect(JSON.parse((await backend.get("touched", NOW))?.payload ?? "")).toMatchObject({ n: 1 });
    expect(await backend.deleteExpired(NOW + 2 * HOUR, 100)).toBe(1);
  });
});

describe("back to connect-databank: what sessionkit writes, connect-databank reads", () => {
  it("with connectDatabank, a record is the session object as connect-databank stores it, plus sessionkit's field", async () => {
    const b = await bank();
    const backend = databankAdapter(b, { connectDatabank: true });
    await backend.init();
    const payload = JSON.stringify(expressSession(NOW + HOUR, { user: "dora" }));
    await backend.upsert({ id: "dora", payload, expiresAt: NOW + HOUR, owner: "dora", now: NOW });
    expect(await rawRead(b, "session", "dora")).toEqual({
      ...expressSession(NOW + HOUR, { user: "dora" }),
      sid: "dora",
      _sessionkit: { exp: NOW + HOUR, created: NOW, active: NOW, owner: "dora" },
    });
    expect(await old(b, (s, cb) => s.get("dora", cb))).toMatchObject({ user: "dora", sid: "dora" });
    // A touch moves both views of the expiry: connect-databank keeps the session alive as long.
    await backend.touch({ id: "dora", expiresAt: NOW + 3 * HOUR, now: NOW + 1, owner: "dora" });
    expect(await rawRead(b, "session", "dora")).toMatchObject({ cookie: { expires: iso(NOW + 3 * HOUR) } });
    expect((await backend.get("dora", NOW))?.payload).toBe(
      JSON.stringify(expressSession(NOW + 3 * HOUR, { user: "dora" })),
    );
  });

  it("a session connect-databank kept alive (its cookie.expires moved on) stays alive on return, within maxLifetime", async () => {
    const b = await bank();
    const backend = databankAdapter(b, { connectDatabank: true });
    await backend.init();
    const write = (id: string, maxLifetimeMs?: number) =>
      backend.upsert({
        id,
        payload: JSON.stringify(expressSession(NOW + HOUR, { views: 1 })),
        expiresAt: NOW + HOUR,
        owner: null,
        now: NOW,
        ...(maxLifetimeMs ? { maxLifetimeMs } : {}),
      });
    await write("kept");
    await write("capped", 90 * 60_000);
    // After a rollback, connect-databank saves the session on a later request: views 2, cookie an hour on.
    for (const id of ["kept", "capped"]) {
      const stored = (await old<Record<string, unknown>>(b, (s, cb) => s.get(id, cb))) as { views: number };
      await old(b, (s, cb) =>
        s.set(id, { ...stored, ...expressSession(NOW + 2 * HOUR, { views: stored.views + 1 }) }, cb),
      );
    }
    const later = NOW + 90 * 60_000 + 1; // past our expiry and the lifetime cap, before the moved cookie's
    const kept = await backend.get("kept", later);
    expect(kept?.expiresAt).toBe(NOW + 2 * HOUR);
    expect(JSON.parse(kept?.payload ?? "")).toEqual(expressSession(NOW + 2 * HOUR, { views: 2 }));
    expect((await backend.get("capped", later))?.expiresAt).toBe(NOW + 90 * 60_000);
    expect(await backend.count(later)).toBe(1);
    expect(await backend.deleteExpired(later, 100)).toBe(1); // the capped one; "kept" is carried on
    expect(await backend.deleteExpired(NOW + 2 * HOUR, 100)).toBe(1);
  });

  for (const connectDatabank of [true, false]) {
    it(`connect-databank's get, all, length, cleanup and clear run over sessionkit's records and tombstones (connectDatabank: ${connectDatabank})`, async () => {
      const b = await bank();
      const backend = databankAdapter(b, { connectDatabank });
      await backend.init();
      const payload = (n: number) => JSON.stringify(expressSession(NOW + HOUR, { n }));
      for (const id of ["a", "b", "c"])
        await backend.upsert({ id, payload: payload(1), expiresAt: NOW + HOUR, owner: null, now: NOW });
      await backend.upsert({ id: "raw", payload: "{not json", expiresAt: NOW + HOUR, owner: null, now: NOW });
      await backend.destroy("b", { now: NOW, until: NOW + HOUR });
      // Expired by connect-databank's clock too (its cleanup only calls back once it deleted something).
      await backend.upsert({ id: "old", payload: payload(1), expiresAt: NOW - 1, owner: null, now: NOW - HOUR });
      // Before, any of these ended the old app with a TypeError in its isActive.
      for (const id of ["a", "b", "c", "raw"]) await old(b, (s, cb) => s.get(id, cb));
      expect(await old(b, (s, cb) => s.get("b", cb))).toBeNull();
      expect(await old(b, (s, cb) => s.length(cb))).toBe(4);
      expect(await old<unknown[]>(b, (s, cb) => s.all(cb))).toHaveLength(3);
      await old(b, (s, cb) => s.cleanup(cb));
      expect(await rawRead(b, "session", "old")).toBeUndefined();
      await old(b, (s, cb) => s.clear(cb));
      expect(await scanAll(b, "session")).toEqual([]);
    });
  }
});

describe("old → ours → old → ours, over HTTP (two express apps, one memory bank)", () => {
  /** An express app counting visits, over `store`: the same routes and cookie for both stores. */
  async function startApp(store: Store) {
    const app = express();
    app.use(session({ store, secret: "rollback", resave: false, saveUninitialized: false, cookie: { maxAge: HOUR } }));
    type Visit = { views?: number; user?: string };
    app.get("/count", (req, res) => {
      const s = req.session as unknown as Visit;
      s.views = (s.views ?? 0) + 1;
      res.json({ views: s.views, user: s.user ?? null });
    });
    app.get("/peek", (req, res) => res.json({ views: (req.session as unknown as Visit).views ?? 0 }));
    app.post("/login/:user", (req, res, next) =>
      req.session.regenerate((err) => {
        if (err) return next(err);
        (req.session as unknown as Visit).user = req.params.user;
        res.json({ user: req.params.user });
      }),
    );
    app.post("/logout", (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.json({ ok: true }))));
    app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ error: err.message });
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  /** The same visitor (one cookie) on another app. */
  function visit(app: { url: string }, from: Browser): Browser {
    const browser = new Browser(app.url);
    browser.useCookieOf(from);
    return browser;
  }

  for (const connectDatabank of [true, false]) {
    it(`switching stores back and forth ${connectDatabank ? "keeps every session and logout" : "never crashes the old app (sessions start over there)"}`, async () => {
      const b = await bank();
      const oldApp = await startApp(new DatabankStore(b, null, 0) as unknown as Store);
      const store = createStore(databankAdapter(b, { connectDatabank }), { gcInterval: 0 });
      const newApp = await startApp(store);
      try {
        // old: a visitor logs in and counts.
        let browser = new Browser(oldApp.url);
        await browser.request("POST", "/login/erin");
        expect((await browser.request("GET", "/count")).body).toEqual({ views: 1, user: "erin" });
        // ours: the same session, read in place.
        browser = visit(newApp, browser);
        expect((await browser.request("GET", "/count")).body).toEqual({ views: 2, user: "erin" });
        expect((await browser.request("GET", "/peek")).status).toBe(200); // a touch
        // old again: it reads what we wrote.
        browser = visit(oldApp, browser);
        const back = await browser.request("GET", "/count");
        expect(back.status).toBe(200);
        expect(back.body).toEqual(connectDatabank ? { views: 3, user: "erin" } : { views: 1, user: null });
        // ours again.
        browser = visit(newApp, browser);
        const forward = await browser.request("GET", "/count");
        expect(forward.body).toEqual(connectDatabank ? { views: 4, user: "erin" } : { views: 3, user: "erin" });
        // A logout under ours holds under both.
        await browser.request("POST", "/logout");
        expect((await visit(oldApp, browser).request("GET", "/count")).body).toEqual({ views: 1, user: null });
        expect((await visit(newApp, browser).request("GET", "/count")).body).toEqual({ views: 1, user: null });
        // connect-databank's whole-type calls still work over everything sessionkit left.
        expect(await old<unknown[]>(b, (s, cb) => s.all(cb))).not.toHaveLength(0);
      } finally {
        await oldApp.close();
        await newApp.close();
        await store.close();
      }
    });
  }
});
