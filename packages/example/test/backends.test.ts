import { createConnection } from "node:net";
import { serviceGate } from "@sessionkit/conformance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// The pouchdb package's own test server: one way to start pouchdb-server in the repository.
import { freePort, startPouchdbServer, type TestCouch } from "../../pouchdb/test/support/pouchdb-server.js";
import { BackendUnavailableError, loadAdapter } from "../src/backends.js";
import type { AppConfig, BackendName } from "../src/config.js";
import { type RunningDemo, StartupError, startDemo } from "../src/start.js";
import { Client, sessionsOf, silent, tempDir, testConfig, userOf, viewsOf } from "./support/demo.js";

const tmp = tempDir("backends");
// This file's own table and Redis database, so parallel test files never share sessions.
const TABLE = "example_backends_test";
const REDIS_URL = `${(process.env.SESSIONKIT_REDIS_URL ?? "redis://127.0.0.1:6379").replace(/\/\d*$/, "")}/11`;
/** The redis backend's own database and key prefix. */
const REDIS_ADAPTER = { redisUrl: REDIS_URL, redisPrefix: "example-backends-test:" };

let couch: TestCouch | undefined;
let couchFailure: string | undefined;
beforeAll(async () => {
  try {
    couch = await startPouchdbServer();
  } catch (error) {
    couchFailure = String(error);
  }
});
afterAll(async () => {
  await couch?.stop();
  tmp.remove();
});

function tcpProbe(raw: string, fallbackPort: number) {
  const url = new URL(raw);
  return () =>
    new Promise<void>((resolve, reject) => {
      const socket = createConnection(Number(url.port || fallbackPort), url.hostname);
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", reject);
    });
}

const config = (backend: BackendName, extra: Partial<AppConfig> = {}) =>
  testConfig(`${tmp.dir}/${backend}`, { backend, tableName: TABLE, redisUrl: REDIS_URL, ...extra });

/** The gate of each backend: false when its service answers, else why it is skipped. */
const gates: Record<BackendName, () => Promise<string | false>> = {
  memory: async () => false,
  sqlite: async () => false,
  pouchdb: async () => false,
  "databank-memory": async () => false,
  postgres: () => serviceGate("PostgreSQL", tcpProbe(testConfig("").pgUrl, 5432)),
  mariadb: () => serviceGate("MariaDB", tcpProbe(testConfig("").mysqlUrl, 3306)),
  redis: () => serviceGate("Redis", tcpProbe(REDIS_URL, 6379)),
  couchdb: () =>
    serviceGate("pouchdb-server", async () => {
      if (!couch) throw new Error(couchFailure ?? "not started");
    }),
};

describe.each(Object.keys(gates) as BackendName[])("the demo on %s", (backend) => {
  let skip: string | false = false;
  let demo: RunningDemo | undefined;
  beforeAll(async () => {
    skip = await gates[backend]();
    if (skip) return;
    const extra =
      backend === "couchdb"
        ? { couchdbUrl: `${couch?.url}/example-backends` }
        : backend === "redis"
          ? REDIS_ADAPTER
          : {};
    demo = await startDemo(config(backend, extra), silent);
    await demo.store.clear();
  });
  afterAll(async () => {
    await demo?.close();
  });

  it("counts visits, logs in, lists and ends sessions, and logs out everywhere", async (ctx) => {
    if (skip || !demo) return ctx.skip(skip || "not started");
    const first = new Client(demo.url);
    expect(viewsOf((await first.get("/")).text)).toBe(1);
    expect(viewsOf((await first.get("/")).text)).toBe(2);
    await first.post("/login", { name: "grace" });
    const second = new Client(demo.url);
    await second.post("/login", { name: "grace" });
    const home = await first.get("/");
    expect(userOf(home.text)).toBe("grace");
    expect(viewsOf(home.text)).toBe(3);
    expect(userOf((await second.get("/")).text)).toBe("grace");

    // Your sessions: both, this one marked, neither id in the page; the other one logged out.
    const page = await first.get("/sessions");
    const rows = sessionsOf(page.text);
    expect(rows.map((row) => row.current).sort()).toEqual([false, true]);
    for (const client of [first, second]) expect(page.text).not.toContain(client.sessionId as string);
    const other = rows.find((row) => !row.current)?.handle as string;
    expect((await first.post("/sessions/logout", { session: other })).location).toBe("/sessions?ended=1");
    expect(userOf((await second.get("/")).text)).toBeNull();
    expect(sessionsOf((await first.get("/sessions")).text)).toHaveLength(1);

    await second.post("/login", { name: "grace" });
    const third = new Client(demo.url);
    await third.post("/login", { name: "grace" });
    expect((await first.post("/sessions/logout-others")).location).toBe("/sessions?ended=2");
    expect(userOf((await second.get("/")).text)).toBeNull();
    expect(userOf((await third.get("/")).text)).toBeNull();

    await second.post("/login", { name: "grace" });
    expect((await first.post("/logout-everywhere")).location).toBe("/?loggedOut=2");
    expect(userOf((await first.get("/")).text)).toBeNull();
    expect(userOf((await second.get("/")).text)).toBeNull();
  });
});

describe.each(["sqlite", "pouchdb"] as const)("sessions on %s survive a restart", (backend) => {
  it("keeps the visitor logged in with the same count", async () => {
    const dir = tempDir(`restart-${backend}`);
    try {
      const before = await startDemo(testConfig(dir.dir, { backend }), silent);
      const client = new Client(before.url);
      await client.post("/login", { name: "hopper" });
      await client.get("/");
      await before.close();

      const after = await startDemo(testConfig(dir.dir, { backend }), silent);
      try {
        client.baseUrl = after.url;
        const home = await client.get("/");
        expect(userOf(home.text)).toBe("hopper");
        expect(viewsOf(home.text)).toBe(2);
      } finally {
        await after.close();
      }
    } finally {
      dir.remove();
    }
  });
});

describe("startup failures", () => {
  it("an unreachable database is one StartupError naming it, and nothing is left open", async () => {
    const port = await freePort();
    const pgUrl = `postgres://postgres:hunter2@127.0.0.1:${port}/test`;
    const failure = await startDemo(config("postgres", { pgUrl }), silent).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(StartupError);
    const message = (failure as Error).message;
    expect(message).toMatch(
      new RegExp(`^cannot use postgres \\(postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${port}/test\\): `),
    );
    expect(message).toContain("ECONNREFUSED");
    expect(message).not.toContain("hunter2");
    expect(message).not.toContain("\n");
  });

  it("an unreachable Redis is a StartupError, and nothing is left open", async () => {
    const port = await freePort();
    await expect(
      startDemo(config("redis", { redisUrl: `redis://:hunter2@127.0.0.1:${port}/11` }), silent),
    ).rejects.toThrow(
      new RegExp(`^cannot use redis \\(redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}/11\\): .*ECONNREFUSED`),
    );
  });

  it("a bad table name is refused by the adapter before anything listens", async () => {
    await expect(startDemo(config("sqlite", { tableName: "no spaces allowed" }), silent)).rejects.toThrow(
      /option "tableName"/,
    );
  });

  it("a missing adapter package is a clear 'not available yet' error", async () => {
    const missing = "@sessionkit/not-written-yet";
    await expect(loadAdapter("redis", () => import(/* @vite-ignore */ missing))).rejects.toThrow(
      BackendUnavailableError,
    );
    await expect(loadAdapter("redis", () => import(/* @vite-ignore */ missing))).rejects.toThrow(
      /^backend redis is not available yet/,
    );
  });

  it("the port being taken is an error naming it", async () => {
    const dir = tempDir("port");
    const first = await startDemo(testConfig(dir.dir, { backend: "memory" }), silent);
    try {
      const port = Number(new URL(first.url).port);
      await expect(startDemo(testConfig(dir.dir, { backend: "sqlite", port }), silent)).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.close();
      dir.remove();
    }
  });
});
