import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const require = createRequire(import.meta.url);

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || address === null) throw new Error("no free port");
  return address.port;
}

/** pouchdb-server (in memory) in `dir` on a free loopback port; resolves when it answers. */
export async function startPouchdbServer(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const bin = require.resolve("pouchdb-server/bin/pouchdb-server");
  const args = [bin, "-m", "-n", "-o", "127.0.0.1", "-p", String(port), "-d", dir, "-c", join(dir, "config.json")];
  const child = spawn(process.execPath, args, { cwd: dir, stdio: "ignore" });
  // If the bench dies before its cleanup, the server must not outlive it.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  child.once("exit", () => process.removeListener("exit", killOnExit));
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`pouchdb-server exited with ${child.exitCode}`);
    const up = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (up) return { url, child };
    await sleep(100);
  }
  child.kill("SIGKILL");
  throw new Error("pouchdb-server did not start");
}
