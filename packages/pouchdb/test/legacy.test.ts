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

describe.skipIf(Boolean(couch.skip))("documents written by session-pouchdb-store 0.4.1", () => {
  const url = couch.database("db");
  const inAnHour = new Date(Date.now() + HOUR);
  const sessions = {
    live: expressSession(inAnHour, { user: "ann", cart: [1, 2] }),
    expired: expressSession(new Date(Date.now() - 60_000), { user: "bob" }),
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
    store = createStore(backend, { gcInterval: 0 });
  });
  afterAll(async () => {
    await store?.close();
  });

  it("are read back as the session object, without the old store's bookkeeping", async () => {
    const raw = (await (await fetch(`${url}/live`)).json()) as Record<string, unknown>;
    expect(raw).toHaveProperty("$ts");
    expect(raw).toHaveProperty("$dirty");
    expect(await store.get("live")).toEqual(sessions.live);
    expect((await backend.get("live"))?.expiresAt).toBe(inAnHour.getTime());
  });

  it("expire by their cookie, or legacyTtl after their last write when the cookie has no expiry", async () => {
    expect(await store.get("expired")).toBeNull();
    const raw = (await (await fetch(`${url}/browserSession`)).json()) as { $ts: number };
    expect((await backend.get("browserSession"))?.expiresAt).toBe(raw.$ts + 86_400_000);
    expect(await store.get("browserSession")).toEqual(sessions.browserSession);
    expect((await store.ids()).sort()).toEqual(["browserSession", "live", "toConvert", "toDestroy", "toTouch"]);
    expect(await store.length()).toBe(5);
  });

  it("are touched in place, keeping their shape for processes still on the old store", async () => {
    const later = Date.now() + 2 * HOUR;
    await backend.touch("toTouch", later, Date.now());
    expect(await backend.get("toTouch")).toMatchObject({ expiresAt: later, payload: JSON.stringify(sessions.toTouch) });
    const raw = (await (await fetch(`${url}/toTouch`)).json()) as Record<string, unknown>;
    expect(raw).toMatchObject({ $expiresAt: later, cookie: sessions.toTouch.cookie });
    expect(raw.type).toBeUndefined();
  });

  it("are never revived by a touch once expired, by cookie, $expiresAt or legacyTtl", async () => {
    const now = Date.now();
    const before = await (await fetch(`${url}/expired`)).json();
    await backend.touch("expired", now + HOUR, now); // expired by its cookie
    expect(await (await fetch(`${url}/expired`)).json()).toEqual(before);

    await backend.touch("toTouch", now - 1, now - 2); // expired by our $expiresAt
    await backend.touch("toTouch", now + HOUR, now);
    expect((await backend.get("toTouch"))?.expiresAt).toBe(now - 1);
    await backend.touch("toTouch", now + 2 * HOUR, now - 2); // live again for the tests below

    const raw = (await (await fetch(`${url}/browserSession`)).json()) as { $ts: number; _rev: string };
    await backend.touch("browserSession", now + HOUR, raw.$ts + 86_400_000); // expired by $ts + legacyTtl
    expect(await (await fetch(`${url}/browserSession`)).json()).toEqual(raw);
  });

  it("become ours on their next write, and can be destroyed", async () => {
    await store.set("toConvert", { ...sessions.toConvert, n: 10 } as never);
    const raw = (await (await fetch(`${url}/toConvert`)).json()) as Record<string, unknown>;
    expect(raw.type).toBe("sessionkit-session");
    expect(raw.$ts).toBeUndefined();
    expect(await store.get("toConvert")).toMatchObject({ n: 10 });
    await store.destroy("toDestroy");
    expect(await store.get("toDestroy")).toBeNull();
    expect((await fetch(`${url}/toDestroy`)).status).toBe(404);
  });

  it("are collected by GC once expired (the index agrees with the reader)", async () => {
    await backend.touch("toTouch", Date.now() - 1, Date.now() - 2);
    expect(await store.prune()).toBe(2); // "expired" and the touched one
    expect((await fetch(`${url}/expired`)).status).toBe(404);
    expect((await fetch(`${url}/toTouch`)).status).toBe(404);
    expect(await store.get("live")).toEqual(sessions.live);
  });

  it("without a cookie expiry honour a shorter legacyTtl", async () => {
    const short = pouchdbAdapter(url, { legacyTtl: 1 });
    await short.init();
    const raw = (await (await fetch(`${url}/browserSession`)).json()) as { $ts: number };
    expect((await short.get("browserSession"))?.expiresAt).toBe(raw.$ts + 1000);
    const now = Math.max(Date.now(), raw.$ts + 1000);
    expect(await short.deleteExpired(now, 10)).toBe(1);
    expect(await short.get("browserSession")).toBeNull();
    await short.close();
  });
});
