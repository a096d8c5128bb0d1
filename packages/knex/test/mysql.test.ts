import { write } from "@sessionkit/conformance";
import type { SessionBackend } from "@sessionkit/core";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { knexAdapter } from "../src/index.js";
import { dropTables, mysqlGate, mysqlKnex, mysqlPool } from "./support/databases.js";

// MySQL/MariaDB specifics: the upsert's assignments run left to right (each later one sees the
// earlier new values), its refusal must be told with or without the FOUND_ROWS client flag, and GC
// batches go along the expiry index with a bound LIMIT.
const skip = await mysqlGate();
const T0 = Date.now();
const HOUR = 3_600_000;

describe.skipIf(skip)("MySQL/MariaDB", () => {
  const knex = mysqlKnex();
  const withFlag = mysqlPool(); // mysql2's default: FOUND_ROWS
  const withoutFlag = mysqlPool({ flags: ["-FOUND_ROWS"] });
  const backends: Array<[string, SessionBackend]> = [
    ["FOUND_ROWS", knexAdapter({ mysql2: withFlag }, { tableName: "my_upsert" })],
    ["no FOUND_ROWS", knexAdapter({ mysql2: withoutFlag }, { tableName: "my_upsert" })],
    ["knex", knexAdapter(knex, { tableName: "my_upsert" })],
  ];
  const [, first] = backends[0] as [string, SessionBackend];
  afterAll(async () => {
    await dropTables(knex, "my_upsert");
    await knex.destroy();
    for (const pool of [withFlag, withoutFlag]) await new Promise((resolve) => pool.end(resolve));
  });
  beforeEach(async () => {
    await first.init();
    await first.clear();
  });

  it.each(backends)("upsert (%s): true when written, false when a live tombstone refuses it", async (_, backend) => {
    expect(await backend.upsert(write("new", T0 + HOUR, { now: T0 }))).toBe(true);
    expect(await backend.upsert(write("new", T0 + HOUR, { now: T0 + 1 }))).toBe(true);
    // The same write again changes nothing (affectedRows 0 without FOUND_ROWS): still not a refusal.
    expect(await backend.upsert(write("new", T0 + HOUR, { now: T0 + 1 }))).toBe(true);
    await backend.destroy("new", { now: T0 + 2, until: T0 + 60_000 });
    expect(await backend.upsert(write("new", T0 + HOUR, { now: T0 + 3 }))).toBe(false);
    // A refusal leaves nothing behind for the next statement on the connection.
    expect(await backend.upsert(write("other", T0 + HOUR, { now: T0 + 3 }))).toBe(true);
  });

  it("each assignment is judged on the row as it was: a passed tombstone is rewritten whole, a live one not at all", async () => {
    const stored = async () =>
      (await knex("my_upsert").select("data", "expires", "owner", "created", "active").where({ sid: "t" }))[0];
    await first.upsert(write("t", T0 + HOUR, { owner: "x", now: T0 - 1 }));
    await first.destroy("t", { now: T0, until: T0 + 1000 });
    const tombstone = await stored();
    // Live: nothing moves, not even the columns assigned before data and expires.
    expect(await first.upsert(write("t", T0 + HOUR, { owner: "o", now: T0 + 999, maxLifetimeMs: HOUR / 2 }))).toBe(
      false,
    );
    expect(await stored()).toEqual(tombstone);
    // Passed: every column is the new record's, the cap counted from its new creation time.
    expect(await first.upsert(write("t", T0 + HOUR, { owner: "o", now: T0 + 1000, maxLifetimeMs: HOUR / 2 }))).toBe(
      true,
    );
    expect(await stored()).toMatchObject({ expires: T0 + 1000 + HOUR / 2, created: T0 + 1000, active: T0 + 1000 });
    expect(String((await stored())?.owner)).toBe("o");
    expect((await stored())?.data).not.toBeNull();
    // An update keeps created, and caps from it.
    await first.upsert(write("t", T0 + 2 * HOUR, { owner: "o", now: T0 + 5000, maxLifetimeMs: HOUR }));
    expect(await stored()).toMatchObject({ expires: T0 + 1000 + HOUR, created: T0 + 1000, active: T0 + 5000 });
  });

  it("GC batches: ties on one expiry broken by id, never more than the limit, rows touched meanwhile kept", async () => {
    for (let i = 0; i < 25; i++) await first.upsert(write(`same-${String(i).padStart(2, "0")}`, T0 + 10, { now: T0 }));
    for (let i = 0; i < 3; i++) await first.upsert(write(`live-${i}`, T0 + HOUR, { now: T0 }));
    expect(await first.deleteExpired(T0 + 10, 10)).toBe(10);
    await first.touch({ id: "same-20", expiresAt: T0 + HOUR, now: T0 + 9, owner: null });
    expect(await first.deleteExpired(T0 + 10, 10)).toBe(10);
    expect(await first.deleteExpired(T0 + 10, 10)).toBe(4);
    expect(await first.deleteExpired(T0 + 10, 1)).toBe(0);
    expect(await first.count(T0 + 10)).toBe(4);
    expect(await first.get("same-20", T0)).not.toBeNull();
  });
});
