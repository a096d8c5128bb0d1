import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import knex from "knex";
import { afterAll, describe, expect, it } from "vitest";
import { loadSecret } from "../src/secret.js";
import { startDemo } from "../src/start.js";
import { Client, silent, tempDir, testConfig } from "./support/demo.js";

const tmp = tempDir("files");
afterAll(() => tmp.remove());
let n = 0;
/** A data folder that does not exist yet, two levels down. */
const freshDir = () => join(tmp.dir, `case-${++n}`, "data");
const modeOf = (path: string) => statSync(path).mode & 0o777;
/** Another connection to a SQLite file, as another program (or an earlier version) would open it. */
const sqlite = (filename: string) =>
  knex({ client: "better-sqlite3", connection: { filename }, useNullAsDefault: true });

// With the usual umask (022), files created without care would be 0644 and folders 0755.
describe("the generated cookie secret", () => {
  it("is written 0600 in a folder created 0700", () => {
    const dir = freshDir();
    const secret = loadSecret(undefined, dir);
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(modeOf(join(dir, "secret"))).toBe(0o600);
    expect(modeOf(dir)).toBe(0o700);
    expect(loadSecret(undefined, dir)).toBe(secret); // kept across restarts
    expect(readdirSync(dir)).toEqual(["secret"]); // no temporary file left behind
  });

  it("a too-short stored secret readable by others is replaced by a new private file", () => {
    const dir = freshDir();
    loadSecret(undefined, dir);
    const file = join(dir, "secret");
    writeFileSync(file, "short\n");
    chmodSync(file, 0o644);
    const secret = loadSecret(undefined, dir);
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(file, "utf8")).toBe(`${secret}\n`);
    expect(modeOf(file)).toBe(0o600);
  });

  it("a good stored secret readable by others is kept, and made private", () => {
    const dir = freshDir();
    const secret = loadSecret(undefined, dir);
    chmodSync(join(dir, "secret"), 0o644);
    expect(loadSecret(undefined, dir)).toBe(secret);
    expect(modeOf(join(dir, "secret"))).toBe(0o600);
  });

  it("a secret given in the environment writes no file", () => {
    const dir = freshDir();
    expect(loadSecret("given-secret-of-enough-length", dir)).toBe("given-secret-of-enough-length");
    expect(existsSync(dir)).toBe(false);
  });
});

describe("the SQLite database files", () => {
  /** Serves a login and a few visits, so SQLite has written its database, WAL and shared memory. */
  async function serve(dir: string): Promise<void> {
    const demo = await startDemo(testConfig(dir, { backend: "sqlite", secret: undefined }), silent);
    try {
      const client = new Client(demo.url);
      await client.post("/login", { name: "ada" });
      for (let i = 0; i < 3; i++) await client.get("/");
      for (const suffix of ["", "-wal", "-shm"]) {
        expect(existsSync(join(dir, `sessions.db${suffix}`)), `sessions.db${suffix} exists`).toBe(true);
      }
    } finally {
      await demo.close();
    }
  }

  it("are created 0600 (database, WAL, shared memory, secret) in a folder created 0700", async () => {
    const dir = freshDir();
    await serve(dir);
    expect(modeOf(dir)).toBe(0o700);
    for (const name of readdirSync(dir)) expect([name, modeOf(join(dir, name))]).toEqual([name, 0o600]);
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(["sessions.db", "secret"]));
  });

  it("an existing database readable by others, with its WAL files, is made private", async () => {
    const dir = freshDir();
    await serve(dir);
    // As an earlier version left them: 0644, with a WAL file still there (the database is open).
    const db = sqlite(join(dir, "sessions.db"));
    try {
      await db.raw("PRAGMA journal_mode = WAL");
      await db.raw("CREATE TABLE IF NOT EXISTS other (x INTEGER)");
      for (const suffix of ["", "-wal", "-shm"]) chmodSync(join(dir, `sessions.db${suffix}`), 0o644);
      await serve(dir);
      for (const suffix of ["", "-wal", "-shm"]) expect(modeOf(join(dir, `sessions.db${suffix}`))).toBe(0o600);
    } finally {
      await db.destroy();
    }
  });
});

describe("the LevelDB folder (pouchdb backend)", () => {
  it("is created 0700, and an existing one readable by others is made private", async () => {
    const dir = freshDir();
    const leveldb = join(dir, "pouchdb-sessions");
    const start = () => startDemo(testConfig(dir, { backend: "pouchdb" }), silent);
    let demo = await start();
    try {
      await new Client(demo.url).post("/login", { name: "ada" });
    } finally {
      await demo.close();
    }
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(leveldb)).toBe(0o700);

    chmodSync(leveldb, 0o755);
    demo = await start();
    await demo.close();
    expect(modeOf(leveldb)).toBe(0o700);
  });
});
