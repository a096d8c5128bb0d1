import { execFile, execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const coreDir = fileURLToPath(new URL("..", import.meta.url));

function runNode(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

// These run the built package in a child process: the way users load it.
describe("the built package in a real process", () => {
  beforeAll(() => {
    execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, "-b", "packages/core"], { cwd: root });
  });

  it("a process with a store exits by itself after close()", async () => {
    const script = `
      import { createStore, memoryBackend } from "@sessionkit/core";
      const store = createStore(memoryBackend(), { gcInterval: 1000 });
      await store.set("a", { cookie: { expires: new Date(Date.now() + 60000) }, n: 1 });
      console.log(JSON.stringify(await store.get("a")));
      await store.close();
      console.log("closed");`;
    const result = await runNode(["--input-type=module", "-e", script], coreDir);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain('"n":1');
    expect(result.stdout).toContain("closed");
    expect(result.code).toBe(0);
  });

  it("the GC timer alone never keeps a process alive", async () => {
    const script = `
      import { createStore, memoryBackend } from "@sessionkit/core";
      const store = createStore(memoryBackend(), { gcInterval: 50 });
      await store.set("a", { cookie: { expires: new Date(Date.now() + 60000) } });
      console.log("done without close");`;
    const result = await runNode(["--input-type=module", "-e", script], coreDir);
    expect(result.stdout).toContain("done without close");
    expect(result.code).toBe(0);
  });

  it("require('@sessionkit/core') works from a CommonJS app", async () => {
    const script = `
      const { createStore, memoryBackend, ErrorCodes } = require("@sessionkit/core");
      const store = createStore(memoryBackend());
      store.set("a", { cookie: {}, n: 2 }, (err) => {
        if (err) throw err;
        store.get("a", (err2, s) => {
          console.log(ErrorCodes.CLOSED, s.n);
          store.close(() => console.log("closed"));
        });
      });`;
    const result = await runNode(["-e", script], coreDir);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("ERR_SESSION_CLOSED 2");
    expect(result.stdout).toContain("closed");
  });
});
