import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const require = createRequire(import.meta.url);

/** A pouchdb-server child process the tests own. */
export interface TestCouch {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:40123. */
  readonly url: string;
  /** A database URL unique to one test file. */
  database(label: string): string;
  /** Kills the server (SIGKILL, like a crash) and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Sends a signal to the server: SIGSTOP freezes it (a hung server), SIGCONT thaws it. */
  signal(signal: NodeJS.Signals): void;
  /** Stops it for good and removes its directory. */
  stop(): Promise<void>;
}

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || address === null) throw new Error("no port");
  return address.port;
}

async function waitUntilAnswering(url: string, child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`pouchdb-server exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`pouchdb-server did not answer on ${url} within ${timeoutMs} ms`);
}

const running = new Set<ChildProcess>();
// If a test file dies before afterAll, the server must not outlive it.
process.once("exit", () => {
  for (const child of running) {
    child.kill("SIGCONT");
    child.kill("SIGKILL");
  }
});

/**
 * Starts `pouchdb-server` on a free loopback port in a fresh temp dir (in memory unless
 * `onDisk`), and resolves when it answers.
 */
export async function startPouchdbServer(options: { onDisk?: boolean } = {}): Promise<TestCouch> {
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-pouchdb-server-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const bin = require.resolve("pouchdb-server/bin/pouchdb-server");
  let child: ChildProcess | undefined;

  const start = async () => {
    const args = [bin, "-o", "127.0.0.1", "-p", String(port), "-d", dir, "-c", join(dir, "config.json"), "-n"];
    if (!options.onDisk) args.push("-m");
    const proc = spawn(process.execPath, args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    proc.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    running.add(proc);
    proc.once("exit", () => running.delete(proc));
    child = proc;
    try {
      await waitUntilAnswering(url, proc);
    } catch (error) {
      proc.kill("SIGKILL");
      throw new Error(`${(error as Error).message}\n${stderr}`, { cause: error });
    }
  };

  const kill = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill("SIGKILL");
    await exited;
  };

  await start();
  let counter = 0;
  return {
    url,
    database: (label) => `${url}/${label}-${process.pid}-${++counter}`,
    kill,
    start,
    signal: (signal) => {
      child?.kill(signal);
    },
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The CouchDB to test against: `SESSIONKIT_COUCHDB_URL` when set (base URL, no database). */
export function couchUrlFromEnv(): string | undefined {
  const value = process.env.SESSIONKIT_COUCHDB_URL;
  return value ? value.replace(/\/+$/, "") : undefined;
}
