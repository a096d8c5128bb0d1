import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../pouchdb/test/support/pouchdb-server.js";
import { tempDir } from "./support/demo.js";

// These tests run the real entry point, so they build it first (incremental: fast when up to date).
const root = fileURLToPath(new URL("../../../", import.meta.url));
const main = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const tsc = createRequire(`${root}package.json`).resolve("typescript/bin/tsc");
const tmp = tempDir("main");

beforeAll(async () => {
  await promisify(execFile)(process.execPath, [tsc, "-b", "packages/example"], { cwd: root });
}, 180_000);
afterAll(() => tmp.remove());

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(env: Record<string, string>, onStdout?: (text: string, child: ChildProcess) => void): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main], {
      env: { PATH: process.env.PATH ?? "", SESSIONKIT_DATA_DIR: tmp.dir, PORT: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
      onStdout?.(stdout, child);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("node dist/main.js", () => {
  it("a wrong backend name: one line on stderr, exit code 1", async () => {
    const exit = await run({ SESSIONKIT_BACKEND: "mongo" });
    expect(exit.code).toBe(1);
    expect(exit.stdout).toBe("");
    expect(exit.stderr).toBe(
      'sessionkit demo: SESSIONKIT_BACKEND="mongo" is not a backend; use one of: sqlite, postgres, mariadb, pouchdb, couchdb, databank-memory, redis, memory\n',
    );
  });

  it("an unreachable database: one line naming it, exit code 1, no stack trace", async () => {
    const port = await freePort();
    const exit = await run({
      SESSIONKIT_BACKEND: "mariadb",
      SESSIONKIT_MYSQL_URL: `mysql://root@127.0.0.1:${port}/test`,
    });
    expect(exit.code).toBe(1);
    expect(exit.stderr).toMatch(
      new RegExp(
        `^sessionkit demo: cannot use mariadb \\(mysql://root@127\\.0\\.0\\.1:${port}/test\\): .*ECONNREFUSED.*\\n$`,
      ),
    );
    expect(exit.stderr.split("\n")).toHaveLength(2);
    expect(`${exit.stdout}${exit.stderr}`).not.toMatch(/^\s+at /m);
  });

  it("serves on SQLite, prints its URL, and on SIGTERM finishes and exits 0", async () => {
    let url: string | undefined;
    let served: Promise<string> | undefined;
    const exit = await run({ SESSIONKIT_BACKEND: "sqlite" }, (stdout, child) => {
      const match = /(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (!match || url) return;
      url = match[1] as string;
      served = fetch(url).then(async (res) => {
        const text = await res.text();
        child.kill("SIGTERM");
        return text;
      });
    });
    expect(url).toBeDefined();
    expect(await served).toContain('id="views">1<');
    expect(exit.code).toBe(0);
    expect(exit.stderr).toBe("");
    // Not a terminal, so the log is JSON lines.
    const lines = exit.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { msg: string });
    expect(lines[0]?.msg).toContain(`sessionkit demo on sqlite (${tmp.dir}/sessions.db): ${url}`);
    expect(lines.at(-1)?.msg).toBe("stopped");
  });
});
