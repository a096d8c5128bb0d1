import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { serviceGate } from "@sessionkit/conformance";

const run = promisify(execFile);

/** Redis servers on loopback that a test file started itself and must stop. */
export interface TestServers {
  /** One port per server (a cluster's masters, or the one standalone server). */
  readonly ports: readonly number[];
  /** Stops every server it started (by PID) and removes their directory. Idempotent. */
  stop(): Promise<void>;
  /** Kills one server (SIGKILL: it goes away without a word); `restart` starts it again, empty. */
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
    if (Date.now() > deadline) throw new Error(`Redis test servers: ${what} not reached within ${ms} ms`);
    await sleep(100);
  }
}

/** Whether the process runs (a zombie waiting to be reaped by whoever adopted the daemon does not). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.charAt(stat.lastIndexOf(")") + 2) !== "Z";
  } catch {
    // No such process, or no /proc (not Linux): then ask the kernel.
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * Starts three `redis-server --cluster-enabled yes` masters on free loopback ports, joins them
 * with `redis-cli --cluster create` and waits until every node says `cluster_state:ok`. Needs only
 * redis-server and redis-cli on the PATH (about two seconds). Stop it in afterAll.
 */
export function startCluster(): Promise<TestServers> {
  return startServers(3, true);
}

/** Starts one standalone redis-server of the test's own (to restart, flush or kill at will). */
export function startServer(): Promise<TestServers> {
  return startServers(1, false);
}

async function startServers(count: number, cluster: boolean): Promise<TestServers> {
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-redis-"));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freeNodePort(taken));
  const pids = new Map<number, number>();
  let stopped = false;

  async function startNode(port: number): Promise<void> {
    const nodeDir = join(dir, String(port));
    mkdirSync(nodeDir, { recursive: true });
    const pidfile = join(nodeDir, "pid");
    // A restarted cluster node keeps its identity and slots from nodes.conf; its data is gone.
    const clusterArgs = cluster
      ? ["--cluster-enabled", "yes", "--cluster-config-file", join(nodeDir, "nodes.conf")]
      : [];
    const options = {
      port: String(port),
      bind: "127.0.0.1",
      dir: nodeDir,
      save: "",
      appendonly: "no",
      daemonize: "yes",
      pidfile,
      logfile: join(nodeDir, "redis.log"),
      ...(cluster ? { "cluster-node-timeout": "2000" } : {}),
    };
    const args = Object.entries(options).flatMap(([name, value]) => [`--${name}`, value]);
    await run("redis-server", [...args, ...clusterArgs]);
    await until(`server ${port} answering`, async () => (await cli(port, "PING")).trim() === "PONG");
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
    await until(`server ${port} stopped`, async () => !isAlive(pid), 10_000);
  }

  const ready = () =>
    cluster
      ? until("cluster_state:ok on every node", async () => {
          for (const port of ports)
            if (!(await cli(port, "CLUSTER", "INFO")).includes("cluster_state:ok")) return false;
          return true;
        })
      : Promise.resolve();

  // A safety net for a file that ends without its afterAll (a hook timeout): vitest then ends
  // the worker with SIGTERM, and no server of ours may outlive it.
  const onExit = () => {
    for (const pid of pids.values()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = () => {
    onExit();
    process.off("exit", onExit);
    process.kill(process.pid, "SIGTERM"); // this listener is gone: the default action ends the process
  };
  process.once("exit", onExit);
  process.once("SIGTERM", onSignal);

  const servers: TestServers = {
    ports,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off("exit", onExit);
      process.off("SIGTERM", onSignal);
      await Promise.all([...pids.keys()].map((port) => killNode(port)));
      rmSync(dir, { recursive: true, force: true });
    },
    kill: (port) => killNode(port, "SIGKILL"),
    async restart(port) {
      await startNode(port);
      await ready();
    },
  };
  try {
    await Promise.all(ports.map(startNode));
    if (cluster) {
      const nodes = ports.map((port) => `127.0.0.1:${port}`);
      await run("redis-cli", ["--cluster", "create", ...nodes, "--cluster-replicas", "0", "--cluster-yes"], {
        timeout: 30_000,
      });
    }
    await ready();
  } catch (error) {
    await servers.stop();
    throw error;
  }
  return servers;
}

/** Skips loudly (or fails under SESSIONKIT_REQUIRE_SERVICES=1) when redis-server and redis-cli are missing. */
export function serversGate(): Promise<string | false> {
  return serviceGate("redis-server and redis-cli (for servers of the tests' own)", async () => {
    await run("redis-server", ["--version"]);
    await run("redis-cli", ["--version"]);
  });
}
