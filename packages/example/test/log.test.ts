import { join } from "node:path";
import { Writable } from "node:stream";
import knex from "knex";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { startDemo } from "../src/start.js";
import { Client, tempDir, testConfig } from "./support/demo.js";

const tmp = tempDir("log");
afterAll(() => tmp.remove());

/** A pino logger at trace level whose lines land in `lines`. */
function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  return { lines, logger: pino({ level: "trace" }, stream) };
}

describe("the demo's log when the database fails", () => {
  it("never holds a session id, an owner or session contents", async () => {
    const OWNER = "Owner-Quixote-4711";
    const DEVICE = "Marker-Device-Agent/7.3 (never-logged)";
    const { lines, logger } = capturingLogger();
    const secrets: string[] = [OWNER, DEVICE, "never-logged"];
    const demo = await startDemo(testConfig(tmp.dir, { backend: "sqlite" }), logger);
    try {
      const laptop = new Client(demo.url, { "user-agent": DEVICE });
      const phone = new Client(demo.url, { "user-agent": DEVICE });
      for (const client of [laptop, phone]) {
        await client.get("/");
        expect((await client.post("/login", { name: OWNER })).location).toBe("/");
      }
      for (const client of [laptop, phone]) {
        const sid = client.sessionId as string;
        expect(sid).toMatch(/^[\w-]{20,}$/);
        // The id, its URL-encoded form and the signed cookie value.
        secrets.push(sid, encodeURIComponent(sid), (client.cookie as string).split("=")[1] as string);
      }

      // Break the database for real: another connection drops every table under the app.
      const db = knex({
        client: "better-sqlite3",
        connection: { filename: join(tmp.dir, "sessions.db") },
        useNullAsDefault: true,
      });
      try {
        const tables: { name: string }[] = await db("sqlite_master").where({ type: "table" }).select("name");
        expect(tables.length).toBeGreaterThan(0);
        for (const { name } of tables) await db.schema.dropTable(name);
      } finally {
        await db.destroy();
      }

      // Every kind of request that reaches the store now fails, and is logged.
      expect((await laptop.get("/")).status).toBe(500);
      expect((await laptop.get("/sessions")).status).toBe(500);
      expect((await phone.post("/logout")).status).toBe(500);
      expect((await laptop.post("/logout-everywhere")).status).toBe(500);
      expect((await laptop.post("/sessions/logout-others")).status).toBe(500);
      expect((await new Client(demo.url, { "user-agent": DEVICE }).post("/login", { name: OWNER })).status).toBe(500);
      await demo.store.destroyByOwner(OWNER).catch(() => {});
      await demo.store.set(laptop.sessionId as string, { cookie: {}, user: OWNER, device: DEVICE }).catch(() => {});
    } finally {
      await demo.close();
    }

    const log = lines.join("\n");
    // Not vacuous: the failures are in the log, with the backend's words...
    expect(log).toContain("session backend failed");
    expect(log).toContain("request failed");
    expect(log).toMatch(/no such table/);
    // ...and nothing that identifies a session or its user.
    for (const secret of secrets) expect(log).not.toContain(secret);
  });
});
