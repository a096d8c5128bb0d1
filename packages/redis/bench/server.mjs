// A private redis-server for the bench scripts: started on a free loopback port, without
// persistence, in a temporary directory; stopped (and the directory removed) by `stop()` or when
// the process exits.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "redis";

export async function privateServer(name) {
  const port = await new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), `sessionkit-redis-${name}-`));
  const server = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    { stdio: "ignore" },
  );
  const kill = () => {
    server.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", kill);
  return {
    port,
    /** A connected node-redis client, once the server accepts connections (up to ~5 s). */
    async connect() {
      const client = createClient({ url: `redis://127.0.0.1:${port}` });
      client.on("error", (error) => console.error("redis:", error.message));
      for (let attempt = 0; ; attempt++) {
        try {
          return await client.connect();
        } catch (error) {
          if (attempt > 50) throw error;
          await sleep(100);
        }
      }
    },
    stop() {
      process.removeListener("exit", kill);
      kill();
    },
  };
}
