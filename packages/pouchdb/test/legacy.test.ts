import { createStore, type SessionkitStore } from "@sessionkit/core";
import { type PouchdbBackend, pouchdbAdapter } from "@sessionkit/pouchdb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { couchForTests } from "./support/couch.js";
import { writeWithSessionPouchdbStore } from "./support/legacy-writer.js";

const HOUR = 3_600_000;
const couch = await couchForTests("legacy");
afterAll(() => couch.cleanup());

/** Sessions as express-session hands them to a store (cookie serialized to JSON). */
function expressSession(expires: Date | null, data: object) {
  return {
    cookie: {
      originalMaxAge: expires ? HOUR : null,
      expires: expires?.toISOString() ?? null,
      httpOnly: true,
      path: "/",
    },
    ...data,
  };
}

const raw = async (url: string, id: string) => (await (await fetch(`${url}/${id}`)).json()) as Record<string, unknown>;

describe.skipIf(Boolean(couch.skip))("documents written by session-pouchdb-store 0.4.1", () => {
  const url = couch.database("db");
  const now = Date.now();
  const inAnHour = new Date(now + HOUR);
  const sessions = {
    live: expressSession(inAnHour, { user: "ann", cart: [1, 2] }),
    expired: expressSession(new Date(now - 60_000), { user: "bob" }),
    browserSession: expressSession(null, { user: "cid" }),
    toConvert: expressSession(inAnHour, { n: 1 }),
    toTouch: expressSession(inAnHour, { n: 2 }),
    toDestroy: expressSession(inAnHour, { n: 3 }),
  };
  let backend: PouchdbBackend;
  let store: SessionkitStore;

  beforeAll(async () => {
    await writeWithSessionPouchdbStore(url, sessions);
    backend = pouchdbAdapter(url);
    store = createStore(backend, { gcInterval: 0, now: () => now });
  });
  afterAll(async () => {
    await store?.close();
  });

  it("are read back as the session object, without the old store's bookkeeping", async () => {
    expect(await raw(url, "live")).toMatchObject({ $ts: expect.any(Number), $dirty: false });
    expect(await store.get("live")).toEqual(sessions.live);
    expect(await backend.get("live", now)).toMatchObject({ expiresAt: inAnHour.getTime(), owner: null });
  });

  it("expire by their cookie, or legacyTtl after their last write when the cookie has no expiry", async () => {
    expect(await store.get("expired")).toBeNull();
    const { $ts } = (await raw(url, "browserSession")) as { $ts: number };
    expect(await backend.get("browserSession", now)).toMatchObject({ expiresAt: $ts + 86_400_000, lastActiveAt: $ts });
    expect(await store.get("browserSession")).toEqual(sessions.browserSession);
    expect((await store.ids()).sort()).toEqual(["browserSession", "live", "toConvert", "toDestroy", "toTouch"]);
    expect(await store.length()).toBe(5);
  });

  it("are touched in place, keeping their shape for processes still on the old store", async () => {
    const later = now + 2 * HOUR;
    await backend.touch({ id: "toTouch", expiresAt: later, now, owner: null });
    expect(await backend.get("toTouch", now)).toMatchObject({
      expiresAt: later,
      payload: JSON.stringify(sessions.toTouch),
    });
    const doc = await raw(url, "toTouch");
    expect(doc).toMatchObject({ ...sessions.toTouch, $ts: now, $dirty: false, $sessionkit: { expiresAt: later } });
    expect(doc.type).toBeUndefined();
  });

  it("are never revived by a touch once expired", async () => {
    const before = await raw(url, "expired");
    await backend.touch({ id: "expired", expiresAt: now + HOUR, now, owner: null });
    expect(await raw(url, "expired")).toEqual(before);
  });

  it("become this adapter's layout on their next write (legacy off), and can be destroyed", async () => {
    await store.set("toConvert", { ...sessions.toConvert, n: 10 } as never);
    const doc = await raw(url, "toConvert");
    expect(doc).toMatchObject({
      type: "sessionkit-session",
      payload: JSON.stringify({ ...sessions.toConvert, n: 10 }),
    });
    expect(doc.$ts).toBeUndefined();
    await store.destroy("toDestroy");
    expect(await store.get("toDestroy")).toBeNull();
    expect(await raw(url, "toDestroy")).toMatchObject({ type: "sessionkit-tombstone" });
  });

  it("are collected by GC once expired, as the index reads them", async () => {
    expect(await backend.deleteExpired(now, 10)).toBe(1); // "expired"
    expect((await fetch(`${url}/expired`)).status).toBe(404);
    // "live", "toConvert" (its cookie's expiry) and the tombstone of "toDestroy" (one hour).
    expect(await backend.deleteExpired(now + HOUR, 10)).toBe(3);
    expect(await store.get("toTouch")).toEqual(sessions.toTouch); // touched to later
  });

  it("without a cookie expiry honour a shorter legacyTtl", async () => {
    const short = pouchdbAdapter(url, { legacyTtl: 1 });
    await short.init();
    const { $ts } = (await raw(url, "browserSession")) as { $ts: number };
    expect((await short.get("browserSession", now))?.expiresAt).toBe($ts + 1000);
    expect(await short.deleteExpired($ts + 1000, 10)).toBe(1);
    expect(await short.get("browserSession", now)).toBeNull();
    await short.close();
  });
});
