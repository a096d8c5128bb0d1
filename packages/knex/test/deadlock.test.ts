import { setTimeout as pause } from "node:timers/promises";
import { createStore, ErrorCodes, type SessionBackend } from "@sessionkit/core";
import type { Knex } from "knex";
import mysql from "mysql2";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { knexAdapter } from "../src/index.js";
import { dropTables, MYSQL_URL, mysqlGate, mysqlKnex, mysqlPool } from "./support/databases.js";

// InnoDB picks one transaction of a deadlock and rolls it back: a live write meeting a GC batch
// (or any other writer) can be that victim, and so can it time out waiting for a lock. The write
// is then run again, at once, up to twice; a failure that persists reaches the caller.
const skip = await mysqlGate();
const T = "my_deadlock";
const T0 = Date.now();
const MINUTE = 60_000;
const HOUR = 3_600_000;
const session = (expiresAt: number) => ({ cookie: { originalMaxAge: HOUR, expires: new Date(expiresAt), path: "/" } });

type Op = "set" | "touch" | "destroy";
type Store = ReturnType<typeof createStore>;
/**
 * Each write moves the stored expiry from T0 + MINUTE to T0 + HOUR (a tombstone's `until`, for
 * destroy). Each test has an id of its own: an index entry a former test left delete-marked
 * (InnoDB purges them later) would be reused in place by a write of the same id and expiry,
 * without the insert that waits for the gap's lock.
 */
const ops: Record<Op, (store: Store, id: string) => Promise<unknown>> = {
  set: (store, id) => store.set(id, session(T0 + HOUR)),
  touch: (store, id) => store.touch(id, session(T0 + HOUR)),
  destroy: (store, id) => store.destroy(id),
};

/** The table's writes that wait for a lock, seen from another connection. */
async function lockWaits(admin: mysql.Connection): Promise<number> {
  const [rows] = await admin
    .promise()
    .query(
      "select count(*) as n from information_schema.innodb_trx where trx_state = 'LOCK WAIT' and trx_query like ?",
      [`%${T}%`],
    );
  return Number((rows as Array<{ n: number }>)[0]?.n);
}

/**
 * Until one write of the table waits for a lock, polling the server (no timer decides anything).
 * InnoDB refreshes what information_schema.innodb_trx shows only when it was last read more than
 * 0.1 s before: reading it more often would show the same old answer forever.
 */
async function untilWaiting(admin: mysql.Connection): Promise<void> {
  do await pause(200);
  while ((await lockWaits(admin)) === 0);
}

/** A client whose writes (statements with "update") are counted as they leave for the server. */
function counted(client: mysql.Pool | Knex): { client: Parameters<typeof knexAdapter>[0]; writes: () => number } {
  let writes = 0;
  const count = (sql: string) => {
    if (sql.includes("update")) writes++;
  };
  if ("execute" in client) {
    const pool = client;
    const execute = (sql: string, values: never, cb: (e: Error | null, r: unknown) => void) => {
      count(sql);
      return pool.execute(sql, values, cb);
    };
    return { client: { mysql2: { execute } }, writes: () => writes };
  }
  client.on("query", (q: { sql: string }) => count(q.sql));
  return { client, writes: () => writes };
}

/** A mysql2 pool or a knex whose connections give up a lock wait after 1 s. */
function impatient(kind: "mysql2" | "knex"): { db: mysql.Pool | Knex; end: () => Promise<unknown> } {
  const statement = "set innodb_lock_wait_timeout = 1";
  if (kind === "mysql2") {
    const pool = mysqlPool();
    pool.on("connection", (c) => c.query(statement));
    return { db: pool, end: () => new Promise((resolve) => pool.end(resolve)) };
  }
  const knex = mysqlKnex({
    pool: {
      min: 0,
      max: 2,
      afterCreate: (c: mysql.Connection, done: (e: Error | null, c: mysql.Connection) => void) =>
        c.query(statement, (e) => done(e, c)),
    },
  });
  return { db: knex, end: () => knex.destroy() };
}

describe.skipIf(skip)("MySQL/MariaDB: writes rolled back by InnoDB", () => {
  const knex = mysqlKnex();
  const admin = mysql.createConnection({ uri: MYSQL_URL });
  const locker = mysql.createConnection({ uri: MYSQL_URL });
  const a = locker.promise();
  const storeOn = (client: Parameters<typeof knexAdapter>[0]) =>
    createStore(knexAdapter(client, { tableName: T }) as SessionBackend, { now: () => T0, gcInterval: 0 });

  afterAll(async () => {
    await dropTables(knex, T);
    await knex.destroy();
    await admin.promise().end();
    await a.end();
  });
  beforeEach(async () => {
    await knexAdapter(knex, { tableName: T }).init();
    await knex(T).delete();
  });

  /**
   * The locker, in a transaction, makes itself the heavier party (InnoDB rolls back the lighter
   * one) and locks the expiry index past T0 + MINUTE; the write, which moves the session's expiry
   * there, locks the session's row and waits; the locker then asks for that row: a deadlock, the
   * write its victim. Run again, the write waits for the locker's commit and lands.
   */
  it.each(
    (["set", "touch", "destroy"] as const).flatMap((op) =>
      (["mysql2", "knex"] as const).map((kind) => [op, kind] as const),
    ),
  )("%s (%s): a deadlock's victim is run again and lands", async (op, kind) => {
    const db = kind === "mysql2" ? mysqlPool() : mysqlKnex();
    const { client, writes } = counted(db);
    const store = storeOn(client);
    const S = `${op}-${kind}`;
    try {
      await store.set(S, session(T0 + MINUTE));
      await a.query("begin");
      for (let k = 0; k < 8; k++)
        await a.query(`insert into ${T} (sid, data, expires) values (?, 'x', ?)`, [`heavy-${k}`, k]);
      await a.query(`select sid from ${T} force index (${T}_expires_idx) where expires > ? for update`, [T0 + MINUTE]);
      const before = writes();
      const writing = ops[op](store, S).then(
        () => "written",
        (error: unknown) => error,
      );
      await untilWaiting(admin);
      // Answers only once InnoDB rolled the write back (were the locker the victim, this would throw).
      await a.query(`select sid from ${T} where sid = ? for update`, [S]);
      await a.query("commit");
      expect(await writing).toBe("written");
      expect(writes() - before).toBe(2); // the run rolled back, and the one that landed
      const [row] = await knex(T).select("data", "expires").where({ sid: S });
      expect(Number(row.expires)).toBe(T0 + HOUR);
      expect(row.data === null).toBe(op === "destroy");
    } finally {
      await a.query("rollback");
      await store.close();
      if ("execute" in db) await new Promise((resolve) => db.end(resolve));
      else await db.destroy();
    }
  });

  it.each(["mysql2", "knex"] as const)(
    "a write that times out waiting for a lock on every run (%s) fails with ERR_SESSION_BACKEND after three runs",
    async (kind) => {
      const { db, end } = impatient(kind);
      const { client, writes } = counted(db);
      const store = storeOn(client);
      const S = `timeout-${kind}`;
      try {
        await store.set(S, session(T0 + MINUTE));
        await a.query("begin");
        await a.query(`select sid from ${T} where sid = ? for update`, [S]);
        const before = writes();
        const error = await store.touch(S, session(T0 + HOUR)).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: ErrorCodes.BACKEND, cause: { code: "ER_LOCK_WAIT_TIMEOUT" } });
        expect(writes() - before).toBe(3);
      } finally {
        await a.query("rollback");
        await store.close();
        await end();
      }
    },
  );
});
