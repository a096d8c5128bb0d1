import { setTimeout as sleep } from "node:timers/promises";
import { startTestApp } from "@sessionkit/conformance";
import { createStore } from "@sessionkit/core";
import { pouchdbAdapter } from "@sessionkit/pouchdb";
import { afterAll, describe, expect, it } from "vitest";
import { couchForTests } from "./support/couch.js";
import { couchSafeId, type OldStoreApp, startOldStoreApp } from "./support/old-store-app.js";

const couch = await couchForTests("rollback");
afterAll(() => couch.cleanup());

/** A browser: one cookie jar, talking to whichever app runs now. */
class Visitor {
  cookie: string | undefined;

  async visit(app: { url: string }, path: string, method = "GET") {
    const response = await fetch(app.url + path, { method, headers: this.cookie ? { cookie: this.cookie } : {} });
    const setCookie = response.headers.get("set-cookie");
    if (setCookie) this.cookie = setCookie.split(";")[0];
    return {
      status: response.status,
      body: (await response.json()) as { views: number; user: string | null; id: string },
    };
  }

  get sessionId(): string {
    const value = decodeURIComponent(this.cookie?.split("=")[1] ?? "");
    return value.slice(2, value.lastIndexOf("."));
  }
}

type Doc = Record<string, unknown> & { cookie?: { expires?: string }; $sessionkit?: Record<string, number> };

describe.skipIf(Boolean(couch.skip))("session-pouchdb-store 0.4.1 → sessionkit → back → sessionkit again", () => {
  const db = couch.database("sessions");
  const doc = async (id: string) => {
    const response = await fetch(`${db}/${encodeURIComponent(id)}`);
    return { status: response.status, body: (await response.json()) as Doc };
  };
  /**
   * session-pouchdb-store acknowledges a write about a second before it makes it: wait until the
   * visitor's session is stored with `fields`. If it never is, say what the old store's app
   * printed (a failed write of its timer is an unhandled rejection that ends it) and what the
   * database last answered.
   */
  const stored = async (app: OldStoreApp, visitor: Visitor, fields: Record<string, unknown>) => {
    let last: unknown;
    for (let tries = 0; tries < 150; tries++) {
      const { status, body } = await doc(visitor.sessionId);
      if (status === 200 && Object.entries(fields).every(([key, value]) => body[key] === value)) return body;
      last = { status, ...Object.fromEntries(Object.keys(fields).map((k) => [k, body[k]])) };
      await sleep(100);
    }
    const said = app.stderr() || "nothing on stderr";
    throw new Error(
      `session-pouchdb-store never wrote ${JSON.stringify(fields)} (last read: ${JSON.stringify(last)}; its app: ${said})`,
    );
  };
  const ours = async (now: () => number) => {
    const backend = pouchdbAdapter(db, { legacy: "session-pouchdb-store" });
    const store = createStore(backend, { gcInterval: 0, now, owner: (s) => s.user as string | undefined });
    // Ids the old store can keep, as its own app makes them: a session whose id starts with `_`
    // would be lost on the way back (the package README says so), whichever store made it.
    const app = await startTestApp("express", store, undefined, { genid: couchSafeId });
    const stop = async () => {
      await app.close();
      await store.close();
    };
    return { url: app.url, store, stop };
  };

  it("nobody is logged out and nothing answers 500, and a logout made by sessionkit holds", async () => {
    const [alice, bob, bobBeforeLogin] = [new Visitor(), new Visitor(), new Visitor()];

    // 1. The old store, on a database that exists already: the old store's first write then
    // doesn't also have to create it (which, failing under load, would end its app).
    expect([201, 412]).toContain((await fetch(db, { method: "PUT" })).status); // created, or there already
    const old = await startOldStoreApp(db);
    // One write per session while an old store's app runs: the echo of its own write on its
    // changes feed, arriving after a later change to the session, marks the session clean (the
    // later change is never written: seen in CI, {views: 1} stored, then the login never) or puts
    // an older revision back (its next write then conflicts, and the rejection ends its app).
    expect((await alice.visit(old, "/login/alice", "POST")).body).toMatchObject({ views: 0, user: "alice" });
    expect((await bob.visit(old, "/count")).body.views).toBe(1);
    await stored(old, alice, { user: "alice" });
    await stored(old, bob, { views: 1 });
    await old.stop();
    expect(old.stderr()).toBe("");

    // 2. sessionkit, writing the old store's layout.
    const first = await ours(Date.now);
    const aliceId = alice.sessionId;
    expect((await alice.visit(first, "/count")).body).toEqual({ views: 1, user: "alice", id: aliceId });
    const written = (await doc(aliceId)).body;
    expect(written).toMatchObject({ views: 1, user: "alice", cookie: { path: "/" }, $dirty: false });
    expect(written.$sessionkit).toMatchObject({ owner: "alice", lastActiveAt: written.$ts });
    expect(written.payload).toBeUndefined();
    expect(await first.store.sessionsOf("alice")).toHaveLength(1);
    // bob logs in: a new session id, the old one destroyed (a tombstone, kept apart from its id).
    bobBeforeLogin.cookie = bob.cookie;
    const bobOldId = bob.sessionId;
    expect((await bob.visit(first, "/login/bob", "POST")).body.user).toBe("bob");
    expect(bob.sessionId).not.toBe(bobOldId);
    expect((await bob.visit(first, "/count")).body).toMatchObject({ views: 2, user: "bob" });
    expect((await doc(bobOldId)).status).toBe(404);
    expect((await doc(`~tombstone/${bobOldId}`)).body).toMatchObject({ type: "sessionkit-tombstone" });
    // The stolen pre-login cookie finds nothing.
    expect((await bobBeforeLogin.visit(first, "/peek")).body).toMatchObject({ views: 0, user: null });
    await first.stop();

    // 3. Rolled back to the old store: it reads what sessionkit wrote.
    const back = await startOldStoreApp(db);
    expect(await alice.visit(back, "/count")).toEqual({ status: 200, body: { views: 2, user: "alice", id: aliceId } });
    expect((await bob.visit(back, "/count")).body).toMatchObject({ views: 3, user: "bob" });
    const stale = await bobBeforeLogin.visit(back, "/count");
    expect(stale).toMatchObject({ status: 200, body: { views: 1, user: null } });
    expect(stale.body.id).not.toBe(bobOldId);
    const rewritten = await stored(back, alice, { views: 2 });
    await stored(back, bob, { views: 3 });
    await back.stop();
    expect(back.stderr()).toBe("");

    // The old store moved the cookie's expiry and left our bookkeeping as it was.
    const cookieExpiry = Date.parse(rewritten.cookie?.expires as string);
    const ourExpiry = rewritten.$sessionkit?.expiresAt as number;
    expect(rewritten.$ts).not.toBe(rewritten.$sessionkit?.lastActiveAt);
    expect(cookieExpiry).toBeGreaterThan(ourExpiry);

    // 4. sessionkit again, at a moment between our stale expiry and the cookie's: still logged in.
    const again = await ours(() => (ourExpiry + cookieExpiry) / 2);
    expect((await alice.visit(again, "/count")).body).toEqual({ views: 3, user: "alice", id: aliceId });
    expect((await bob.visit(again, "/count")).body).toMatchObject({ views: 4, user: "bob" });
    await again.stop();
  }, 120_000); // three app switches and session-pouchdb-store's write-behind: about 25 s on a busy machine
});
