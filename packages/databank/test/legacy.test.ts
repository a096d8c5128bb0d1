import { createRequire } from "node:module";
import { serviceGate } from "@sessionkit/conformance";
import { createStore } from "@sessionkit/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DatabankLike, databankAdapter } from "../src/index.js";
import { bankCall, connectedBank, redisCommand, redisCommandIn, redisParams, testType } from "./helpers.js";

// connect-databank 1.0.3 writes the data sessionkit must keep serving.
const require = createRequire(import.meta.url);
const session = require("express-session");
const DatabankStore = require("connect-databank")(session);

const HOUR = 3_600_000;
const redisSkip = await serviceGate("Redis", () => redisCommand("PING"));

/** Writes one session with connect-databank, as an app running it would have. */
function legacySet(bank: DatabankLike, sid: string, data: Record<string, unknown>, expires: Date | null) {
  const store = new DatabankStore(bank, null, 0);
  const sess = { cookie: { originalMaxAge: expires ? HOUR : null, expires, httpOnly: true, path: "/" }, ...data };
  return new Promise<void>((resolve, reject) => store.set(sid, sess, (e: unknown) => (e ? reject(e) : resolve())));
}

function rawRead(bank: DatabankLike, sid: string) {
  return bankCall((cb) => bank.read("session", sid, cb));
}

for (const target of ["memory", "redis"] as const) {
  const skip = target === "redis" ? redisSkip : false;
  describe.skipIf(Boolean(skip))(`connect-databank data on ${target}`, () => {
    // connect-databank always writes the `session` type, so the redis run uses a database of its own.
    const LEGACY_DB = 13;
    let bank: DatabankLike;
    const prefix = testType("legacy");
    const sid = (name: string) => `${prefix}-${name}`;

    beforeAll(async () => {
      bank =
        target === "memory"
          ? await connectedBank("memory")
          : await connectedBank("redis", { ...redisParams, database: LEGACY_DB });
    });
    afterAll(async () => {
      if (target === "redis") {
        // This file's sessions, and the index types of `session` in its own database.
        const keys = [
          ...((await redisCommandIn(LEGACY_DB, "KEYS", `session:${prefix}-*`)) as string[]),
          ...((await redisCommandIn(LEGACY_DB, "KEYS", "session_*")) as string[]),
        ];
        if (keys.length > 0) await redisCommandIn(LEGACY_DB, "DEL", ...keys);
      }
      await bankCall((cb) => bank.disconnect(cb));
    });

    it("reads a connect-databank session through the store, with its cookie expiry", async () => {
      const expires = new Date(Date.now() + HOUR);
      await legacySet(bank, sid("alice"), { user: "alice", cart: [1, 2] }, expires);
      const backend = databankAdapter(bank, { sweepInterval: 0 });
      await backend.init();
      const record = await backend.get(sid("alice"));
      expect(record?.expiresAt).toBe(expires.getTime());
      expect(JSON.parse(record?.payload ?? "null")).toMatchObject({ user: "alice", cart: [1, 2], sid: sid("alice") });
      expect(record?.owner).toBeNull();

      const store = createStore(databankAdapter(bank, { sweepInterval: 0 }), { gcInterval: 0 });
      const got = (await store.get(sid("alice"))) as Record<string, unknown> | null;
      expect(got?.user).toBe("alice");
      expect(await store.ids()).toContain(sid("alice"));
      await store.close();
      await backend.close();
    });

    it("touch moves a legacy session's expiry, keeps its payload and makes it ours", async () => {
      await legacySet(bank, sid("bob"), { user: "bob" }, new Date(Date.now() + HOUR));
      const backend = databankAdapter(bank, { sweepInterval: 0, indexDelay: 0 });
      await backend.init();
      const before = await backend.get(sid("bob"));
      const later = Date.now() + 5 * HOUR;
      await backend.touch(sid("bob"), later, Date.now());
      const after = await backend.get(sid("bob"));
      expect(after).toEqual({ ...before, expiresAt: later });
      expect(await rawRead(bank, sid("bob"))).toMatchObject({ sessionkit: 1, sid: sid("bob"), expiresAt: later });
      // Touched, it is indexed: GC at its new expiry collects it without any sweep.
      expect(await backend.deleteExpired(later, 100)).toBeGreaterThanOrEqual(1);
      expect(await backend.get(sid("bob"))).toBeNull();
      await backend.close();
    });

    it("touch never revives a legacy session whose cookie expired (the record stays as connect-databank wrote it)", async () => {
      const expired = new Date(Date.now() - 1000);
      await legacySet(bank, sid("late"), { user: "late" }, expired);
      const before = await rawRead(bank, sid("late"));
      const backend = databankAdapter(bank, { sweepInterval: 0, indexDelay: 0 });
      await backend.init();
      await backend.touch(sid("late"), Date.now() + HOUR, Date.now());
      expect(await rawRead(bank, sid("late"))).toEqual(before);
      expect((await backend.get(sid("late")))?.expiresAt).toBe(expired.getTime());
      await backend.close();
    });

    it("an expired legacy session is never returned, is not counted, and is collected by the sweep", async () => {
      await legacySet(bank, sid("gone"), { user: "gone" }, new Date(Date.now() - 1000));
      const store = createStore(databankAdapter(bank, { sweepInterval: 0 }), { gcInterval: 0 });
      expect(await store.get(sid("gone"))).toBeNull();
      expect(await store.ids()).not.toContain(sid("gone"));
      await store.close();

      // Not in the index: a GC without sweep leaves it; the first GC with a sweep collects it.
      const noSweep = databankAdapter(bank, { sweepInterval: 0 });
      await noSweep.init();
      await noSweep.deleteExpired(Date.now(), 1000);
      expect(await rawRead(bank, sid("gone"))).toBeTruthy();
      const sweeping = databankAdapter(bank, { sweepInterval: 60_000 });
      await sweeping.init();
      expect(await sweeping.deleteExpired(Date.now(), 1000)).toBeGreaterThanOrEqual(1);
      await expect(rawRead(bank, sid("gone"))).rejects.toMatchObject({ name: "NoSuchThingError" });
      await noSweep.close();
      await sweeping.close();
    });

    it("a legacy browser-session (no cookie expiry) lives legacyTtl from the sweep, then is collected", async () => {
      await legacySet(bank, sid("browser"), { user: "carol" }, null);
      const backend = databankAdapter(bank, { sweepInterval: 60_000, legacyTtl: 2 * HOUR, indexDelay: 0 });
      await backend.init();
      const read = await backend.get(sid("browser"));
      expect(read?.expiresAt).toBeGreaterThan(Date.now() + HOUR);
      const sweptAt = Date.now();
      await bankCall((cb) => bank.del("session_meta", "sweep", cb)).catch(() => {}); // make the sweep due
      await backend.deleteExpired(sweptAt, 1000);
      const adopted = (await rawRead(bank, sid("browser"))) as { sessionkit: number; expiresAt: number };
      expect(adopted.sessionkit).toBe(1);
      expect(adopted.expiresAt).toBeGreaterThanOrEqual(sweptAt + 2 * HOUR);
      expect(JSON.parse((await backend.get(sid("browser")))?.payload ?? "null")).toMatchObject({ user: "carol" });
      expect(await backend.deleteExpired(adopted.expiresAt, 1000)).toBeGreaterThanOrEqual(1);
      expect(await backend.get(sid("browser"))).toBeNull();
      await backend.close();
    });
  });
}
