import { createStore, ErrorCodes } from "@sessionkit/core";
import { expect, it } from "vitest";
import { LogLevel } from "./logs.js";
import {
  expectLoggedOut,
  expectMoment,
  type Harness,
  login,
  MAX_LIFETIME_MS,
  MINUTE,
  startSlow,
  TTL_MS,
} from "./store-harness.js";

/** A request in flight during a logout, by what it does to the session when it finishes. */
const IN_FLIGHT = [
  { kind: "that changes the session", path: "/slow", change: true },
  { kind: "that changes nothing (a touch, or a rolling re-save)", path: "/slow", change: false },
  { kind: "that changes nothing under resave: true (written back anyway)", path: "/resave/slow", change: false },
] as const;

const UNSUPPORTED = { code: ErrorCodes.UNSUPPORTED };

/**
 * "A logout is a logout": destroy, regenerate, log out everywhere and sign out the other devices
 * are final even when a request that loaded the session before is still in flight; users list
 * their sessions; `maxLifetime` ends a session whatever touches do. A backend without tombstones
 * or owners gets the checks of what it declares instead.
 */
export function logoutScenarios(h: Harness): void {
  if (h.tombstones) tombstoneScenarios(h);
  else withoutTombstones(h);
  if (h.owners) ownerScenarios(h);
  else withoutOwners(h);
  lifetimeScenarios(h);
}

function tombstoneScenarios(h: Harness): void {
  it("the backend declares tombstones, and the store says nothing of logouts being undone", () => {
    expect(h.caps.tombstones).toBe(true);
    expect(h.logs.filter((l) => /tombstone/.test(l.msg ?? ""))).toEqual([]);
  });

  for (const { kind, path, change } of IN_FLIGHT) {
    it(`a logout is final: a request in flight ${kind} can't bring the session back`, async () => {
      const browser = await login(h, "alice");
      const sid = browser.sessionId;
      const saved = browser.fork();
      const inFlight = await startSlow(h, browser.fork(), path, change);
      expect((await browser.request("POST", "/logout")).status).toBe(200);
      const late = await inFlight.finish();
      expect(late).toMatchObject({ status: 200, body: { id: sid, user: "alice" } });
      await expectLoggedOut(h, saved, sid);
      if (h.owners) expect(await h.store.sessionsOf("alice")).toEqual([]);
    });
  }

  it("a logout is final after a regenerate: a request in flight on the old id can't bring it back", async () => {
    const browser = await login(h, "alice");
    const oldId = browser.sessionId;
    const saved = browser.fork();
    const inFlight = await startSlow(h, browser.fork(), "/slow", true);
    const relogin = await browser.request("POST", "/login/alice");
    expect(relogin.status).toBe(200);
    const newId = relogin.body.id as string;
    expect(newId).not.toBe(oldId);
    expect((await inFlight.finish()).status).toBe(200);
    await expectLoggedOut(h, saved, oldId);
    expect((await browser.request("GET", "/peek")).body).toMatchObject({ id: newId, user: "alice" });
    if (h.owners) expect((await h.store.sessionsOf("alice")).map((s) => s.id)).toEqual([newId]);
  });

  it("a write refused by a tombstone answers 200, not 500, and reports no error", async () => {
    const browser = await login(h, "alice");
    const sid = browser.sessionId;
    const inFlight = await startSlow(h, browser.fork(), "/slow", true);
    await h.store.destroy(sid); // e.g. an administrator ends the session
    const late = await inFlight.finish();
    expect(late).toMatchObject({ status: 200, body: { id: sid } });
    expect(await h.store.get(sid)).toBeNull();
    // afterEach: no `error` event either.
  });
}

function withoutTombstones(h: Harness): void {
  it("without tombstones: the backend declares none, the store says so at start, and a logout still deletes", async () => {
    expect(h.caps.tombstones).not.toBe(true);
    const notice = h.logs.find((l) => l.level === LogLevel.info && /tombstone/.test(l.msg ?? ""));
    expect(notice?.msg).toMatch(/request in flight during a logout can write the session back/);

    const browser = await login(h, "alice");
    const sid = browser.sessionId;
    const saved = browser.fork();
    const inFlight = await startSlow(h, browser.fork(), "/slow", true);
    expect((await browser.request("POST", "/logout")).status).toBe(200);
    // Deleted at once; the request in flight may write it back when it ends (what the notice says).
    expect(await h.store.get(sid)).toBeNull();
    const replay = await saved.fork().request("GET", "/peek");
    expect(replay.body.user).toBeNull();
    expect(replay.body.id).not.toBe(sid);
    expect((await inFlight.finish()).status).toBe(200);
  });
}

function ownerScenarios(h: Harness): void {
  it("log out everywhere: with a request in flight on each device, neither session comes back", async () => {
    const laptop = await login(h, "alice");
    const phone = await login(h, "alice");
    const bob = await login(h, "bob");
    const saved = [laptop.fork(), phone.fork()];
    const inFlight = [
      await startSlow(h, laptop.fork(), "/slow", true),
      await startSlow(h, phone.fork(), "/resave/slow", false),
    ];
    expect(await h.store.destroyByOwner("alice")).toBe(2);
    for (const request of inFlight) expect((await request.finish()).status).toBe(200);
    await expectLoggedOut(h, saved[0] as typeof laptop, laptop.sessionId);
    await expectLoggedOut(h, saved[1] as typeof phone, phone.sessionId);
    expect(await h.store.sessionsOf("alice")).toEqual([]);
    expect((await bob.request("GET", "/peek")).body).toMatchObject({ user: "bob", id: bob.sessionId });
  });

  it("destroyOthers signs the other device out for good (a request in flight there too) and keeps this one", async () => {
    const laptop = await login(h, "alice");
    const phone = await login(h, "alice");
    const saved = phone.fork();
    const inFlight = await startSlow(h, phone.fork(), "/slow", true);
    expect(await h.store.destroyOthers("alice", laptop.sessionId)).toBe(1);
    expect((await inFlight.finish()).status).toBe(200);
    await expectLoggedOut(h, saved, phone.sessionId);
    expect((await laptop.request("GET", "/count")).body).toMatchObject({ user: "alice", id: laptop.sessionId });
    expect((await h.store.sessionsOf("alice")).map((s) => s.id)).toEqual([laptop.sessionId]);
  });

  it("sessionsOf lists a user's live sessions with their data, creation, last activity and expiry", async () => {
    const t0 = h.clock.now();
    const laptop = await login(h, "alice");
    h.clock.advance(5 * MINUTE);
    const phone = await login(h, "alice");
    await login(h, "bob");

    const first = await h.store.sessionsOf("alice");
    expect(first.map((s) => s.id).sort()).toEqual([laptop.sessionId, phone.sessionId].sort());
    const dated = h.caps.createdAt === true;
    if (dated) expect(first.map((s) => s.id)).toEqual([phone.sessionId, laptop.sessionId]); // most recent first
    for (const [entry, at] of [
      [first.find((s) => s.id === laptop.sessionId), t0],
      [first.find((s) => s.id === phone.sessionId), t0 + 5 * MINUTE],
    ] as const) {
      expect(entry?.session).toMatchObject({ user: "alice", cookie: expect.any(Object) });
      expectMoment(entry?.expiresAt, at + TTL_MS);
      if (dated) {
        expectMoment(entry?.createdAt, at);
        expectMoment(entry?.lastActiveAt, at);
      } else {
        expect(entry).toMatchObject({ createdAt: null, lastActiveAt: null });
      }
    }

    // Activity: a read 10 min later is written (express-session touches, @fastify/session
    // re-saves); one 30 s after that is skipped by a store with touchAfter 60 s, unless the
    // framework writes the whole session back.
    h.clock.advance(10 * MINUTE);
    await laptop.request("GET", "/peek");
    h.clock.advance(30_000);
    await laptop.request("GET", "/peek");
    const lastWrite = h.touchAfterMs === 0 || h.app.savesUnchanged ? t0 + 15 * MINUTE + 30_000 : t0 + 15 * MINUTE;
    const second = await h.store.sessionsOf("alice");
    const entry = second.find((s) => s.id === laptop.sessionId);
    expectMoment(entry?.expiresAt, lastWrite + TTL_MS);
    if (dated) {
      expect(second[0]?.id).toBe(laptop.sessionId);
      expectMoment(entry?.createdAt, t0);
      expectMoment(entry?.lastActiveAt, lastWrite);
    }
  });
}

function withoutOwners(h: Harness): void {
  it("without owners: the backend declares none, and the owner operations fail with ERR_SESSION_UNSUPPORTED", async () => {
    expect(h.caps.owners).toBe(false);
    const browser = await login(h, "alice");
    await expect(h.store.destroyByOwner("alice")).rejects.toMatchObject(UNSUPPORTED);
    await expect(h.store.sessionsOf("alice")).rejects.toMatchObject(UNSUPPORTED);
    await expect(h.store.destroyOthers("alice", browser.sessionId)).rejects.toMatchObject(UNSUPPORTED);
    expect((await browser.request("GET", "/peek")).body).toMatchObject({ user: "alice", id: browser.sessionId });
  });
}

function lifetimeScenarios(h: Harness): void {
  it("maxLifetime ends a session that keeps being used at creation + maxLifetime (refused where no creation times are stored)", async () => {
    if (h.caps.createdAt !== true) {
      // Nothing to cap by: the store refuses the option rather than ignore it.
      expect(() => createStore(h.store.backend, { maxLifetime: MAX_LIFETIME_MS / 1000 })).toThrow(
        expect.objectContaining({ code: ErrorCodes.CONFIG }),
      );
      return;
    }
    const t0 = h.clock.now();
    const end = t0 + MAX_LIFETIME_MS;
    const browser = await login(h, "alice");
    const sid = browser.sessionId;
    // A request every 50 minutes (reads and writes in turn) would keep it alive for ever by the
    // ttl; from 7 h 20 min on, now + ttl is past the end, and the expiry stays at the end.
    for (let step = 1; step <= 9; step++) {
      h.clock.advance(50 * MINUTE);
      const response = await browser.request("GET", step % 2 ? "/peek" : "/count");
      expect(response.body).toMatchObject({ user: "alice", id: sid });
      const now = h.clock.now();
      expectMoment((await h.store.backend.get(sid, now))?.expiresAt, Math.min(now + TTL_MS, end));
    }
    h.clock.advance(end - MINUTE - h.clock.now());
    expect((await browser.request("GET", "/peek")).body).toMatchObject({ user: "alice", id: sid });
    expectMoment((await h.store.backend.get(sid, h.clock.now()))?.expiresAt, end);
    if (h.owners) expectMoment((await h.store.sessionsOf("alice"))[0]?.expiresAt, end);

    h.clock.advance(2 * MINUTE);
    const after = await browser.request("GET", "/peek");
    expect(after.body.user).toBeNull();
    expect(after.body.id).not.toBe(sid);
    expect(await h.store.get(sid)).toBeNull();
  });
}
