import { createStore, ErrorCodes, type SessionkitStore } from "@sessionkit/core";
import knexFactory, { type Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { knexAdapter } from "../src/index.js";
import { dropTables, MYSQL_URL, mysqlGate, PG_URL, pgGate } from "./helpers/databases.js";
import { TcpProxy } from "./helpers/tcp-proxy.js";

const pgSkip = await pgGate();
const mysqlSkip = await mysqlGate();

/** The same database URL, reached through the proxy's port. */
function throughProxy(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.hostname = "127.0.0.1";
  parsed.port = String(port);
  return parsed.toString();
}

const session = (n: number) => ({
  cookie: { originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000) },
  n,
});

/**
 * The database goes away under a running store and comes back: while it is down every request
 * fails with ERR_SESSION_BACKEND and the driver's error as cause, nothing crashes, and once it
 * is back the same store (same knex pool) works again with its data intact.
 */
function outage(label: string, skip: string | false, client: string, url: string, tableName: string) {
  describe.skipIf(skip)(`database outage: ${label}`, () => {
    const proxy = new TcpProxy(new URL(url).hostname, Number(new URL(url).port));
    let knex: Knex;
    let store: SessionkitStore;
    const unexpected: unknown[] = [];
    const record = (error: unknown) => unexpected.push(error);

    beforeAll(async () => {
      process.on("uncaughtException", record);
      process.on("unhandledRejection", record);
      await proxy.start();
      knex = knexFactory({
        client,
        connection: throughProxy(url, proxy.port),
        pool: { min: 0, max: 4 },
        // Fail a request within a second while the database is unreachable, instead of knex's 60 s.
        acquireConnectionTimeout: 1000,
        // knex warns on every refused connection; the assertions below are what matters.
        log: { warn: () => {}, error: () => {}, debug: () => {}, deprecate: () => {} },
      });
      store = createStore(knexAdapter(knex, { tableName }), { gcInterval: 0 });
    });
    afterAll(async () => {
      process.off("uncaughtException", record);
      process.off("unhandledRejection", record);
      await proxy.start().catch(() => {});
      await store?.close();
      await dropTables(knex, tableName);
      await knex?.destroy();
      await proxy.stop();
    });

    it("fails requests while the database is away and works again when it is back", async () => {
      await store.set("before", session(1));
      expect(await store.get("before")).toMatchObject({ n: 1 });

      await proxy.stop();
      // Pooled connections were cut, new ones are refused: every kind of request fails cleanly.
      const settle = (p: Promise<unknown>) =>
        p.then(
          () => "resolved",
          (e: unknown) => e,
        );
      const errors = await Promise.all([
        settle(store.get("before")),
        settle(store.set("during", session(2))),
        settle(store.touch("before", session(1))),
        settle(store.destroy("before")),
        settle(store.length()),
      ]);
      for (const error of errors) {
        expect(error).toMatchObject({ code: ErrorCodes.BACKEND });
        expect((error as Error).cause).toBeInstanceOf(Error);
      }
      // A second round while still down: the pool keeps failing, it does not hang or crash.
      await expect(store.get("before")).rejects.toMatchObject({ code: ErrorCodes.BACKEND });

      await proxy.start();
      expect(await store.get("before")).toMatchObject({ n: 1 });
      await store.set("after", session(3));
      expect(await store.get("after")).toMatchObject({ n: 3 });
      expect(await store.get("during")).toBeNull();
      expect(unexpected).toEqual([]);
    });
  });
}

outage("PostgreSQL (pg)", pgSkip, "pg", PG_URL, "outage_pg");
outage("MariaDB (mysql2)", mysqlSkip, "mysql2", MYSQL_URL, "outage_my");
