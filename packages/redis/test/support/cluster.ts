import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { serviceGate } from "@sessionkit/conformance";

const run = promisify(execFile);

/** A Redis Cluster of three masters on loopback that a test file started and must stop. */
export interface TestCluster {
  readonly ports: readonly number[];
  /** Stops every node it started (by PID) and removes its directory. Idempotent. */
  stop(): Promise<void>;
  /** Stops one node (a master going away); `restart` brings it back with its slots. */
  kill(port: number): Promise<void>;
  restart(port: number): Promise<void>;
}

/** Whether the port is free on loopback right now. */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeNodePort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) {
      taken.add(port);
      taken.add(port + 10_000);
      return port;
    }
  }
  throw new Error("no free port pair for a Redis Cluster node");
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { timeout: 10_000 });
  return stdout;
}

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`Redis Cluster: ${what} not reached within ${ms} ms`);
    await sleep(100);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts three `redis-server --cluster-enabled yes` masters on free loopback ports, joins them
 * with `redis-cli --cluster create` and waits until every node says `cluster_state:ok`. Needs only
 * redis-server and redis-cli on the PATH. Stop it in afterAll.
 */
export async function startCluster(): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-redis-cluster-"));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) ports.push(await freeNodePort(taken));
  const pids = new Map<number, number>();
  let stopped = false;

  async function startNode(port: number): Promise<void> {
    const nodeDir = join(dir, String(port));
    mkdirSync(nodeDir, { recursive: true });
    const pidfile = join(nodeDir, "pid");
    await run("redis-server", [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      join(nodeDir, "nodes.conf"),
      "--cluster-node-timeout",
      "2000",
      "--dir",
      nodeDir,
      "--save",
      "",
      "--appendonly",
      "no",
      "--daemonize",
      "yes",
      "--pidfile",
      pidfile,
      "--logfile",
      join(nodeDir, "redis.log"),
    ]);
    await until(`node ${port} answering`, async () => (await cli(port, "PING")).trim() === "PONG");
    pids.set(port, Number(readFileSync(pidfile, "utf8").trim()));
  }

  async function killNode(port: number, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const pid = pids.get(port);
    if (pid === undefined) return;
    pids.delete(port);
    try {
      process.kill(pid, signal);
    } catch {
      return; // already gone
    }
    await until(`node ${port} stopped`, async () => !isAlive(pid), 10_000);
  }

  const allOk = () =>
    until("cluster_state:ok on every node", async () => {
      for (const port of ports) if (!(await cli(port, "CLUSTER", "INFO")).includes("cluster_state:ok")) return false;
      return true;
    });

  const cluster: TestCluster = {
    ports,
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all([...pids.keys()].map((port) => killNode(port)));
      rmSync(dir, { recursive: true, force: true });
    },
    kill: (port) => killNode(port, "SIGKILL"),
    async restart(port) {
      await startNode(port);
      await allOk();
    },
  };
  try {
    await Promise.all(ports.map(startNode));
    const nodes = ports.map((port) => `127.0.0.1:${port}`);
    await run("redis-cli", ["--cluster", "create", ...nodes, "--cluster-replicas", "0", "--cluster-yes"], {
      timeout: 30_000,
    });
    await allOk();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/** Skips loudly (or fails under SESSIONKIT_REQUIRE_SERVICES=1) when redis-server and redis-cli are missing. */
export function clusterGate(): Promise<string | false> {
  return serviceGate("redis-server and redis-cli (for a local Redis Cluster)", async () => {
    await run("redis-server", ["--version"]);
    await run("redis-cli", ["--version"]);
  });
}
