// End to end: autocannon against the example app's counter route (GET /, which reads and writes
// the session on every request) with a session cookie, per backend, each app in its own process.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import type { Benchmark, Measurement } from "./harness.js";
import { freePort } from "./processes.js";

const MAIN = fileURLToPath(new URL("../../example/dist/main.js", import.meta.url));
const CEILING = fileURLToPath(new URL("./e2e-ceiling.js", import.meta.url));
const CEILING_NAME = "express-session MemoryStore (in-process ceiling)";

const SIZES = {
  small: { seconds: 5, warmup: 1 },
  large: { seconds: 20, warmup: 3 },
} as const;
const CONNECTIONS = 10;

/** The demo's backends measured here; couchdb only when SESSIONKIT_COUCHDB_URL names a server. */
function backends(): string[] {
  const list = ["memory", "sqlite", "postgres", "mariadb", "pouchdb", "databank-memory", "databank-redis"];
  if (process.env.SESSIONKIT_COUCHDB_URL) list.push("couchdb");
  return list;
}

interface App {
  url: string;
  stop(): Promise<void>;
}

/** Starts a child on `port` and resolves when it answers; rejects with its stderr if it exits first. */
async function startApp(args: string[], env: NodeJS.ProcessEnv, port: number): Promise<App> {
  const child: ChildProcess = spawn(process.execPath, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    }
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(stderr.trim() || `exited with ${child.exitCode ?? child.signalCode}`);
    }
    try {
      await fetch(`${url}/login`, { signal: AbortSignal.timeout(1000) });
      return { url, stop };
    } catch {
      await sleep(100);
    }
  }
  await stop();
  throw new Error(`did not answer on ${url} within 30 s`);
}

/** A session cookie for one visitor (the first visit creates the session). */
async function sessionCookie(url: string): Promise<string> {
  const res = await fetch(`${url}/`);
  await res.text();
  const cookie = res.headers.get("set-cookie")?.split(";")[0];
  if (!cookie) throw new Error("the app set no session cookie");
  return cookie;
}

async function viewsOf(url: string, cookie: string): Promise<number> {
  const page = await (await fetch(`${url}/`, { headers: { cookie } })).text();
  return Number(/id="views">(\d+)</.exec(page)?.[1] ?? Number.NaN);
}

interface Load {
  /** Requests per second, all visitors together. */
  perSecond: number;
  /** The worst of the visitors' p99 latencies, ms. */
  p99Ms: number;
  ok: number;
  non2xx: number;
  errors: number;
}

/**
 * One autocannon instance per visitor, each a single connection with its own session cookie,
 * run together: each visitor's requests are sequential, like a browser's, so no two requests
 * of one session race. (autocannon's per-connection context is reset between request cycles,
 * so one instance cannot pin a cookie to a connection.)
 */
async function load(url: string, cookies: string[], seconds: number): Promise<Load> {
  const results = await Promise.all(
    cookies.map((cookie) => autocannon({ url: `${url}/`, connections: 1, duration: seconds, headers: { cookie } })),
  );
  return {
    perSecond: results.reduce((sum, r) => sum + r.requests.average, 0),
    p99Ms: Math.max(...results.map((r) => r.latency.p99)),
    ok: results.reduce((sum, r) => sum + r["2xx"], 0),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    errors: results.reduce((sum, r) => sum + r.errors + r.timeouts, 0),
  };
}

/** Measures one running app: a warm-up, the timed run, then a check that every visit was counted. */
async function measureApp(app: App, contender: string, size: (typeof SIZES)[keyof typeof SIZES]): Promise<Measurement> {
  const cookies: string[] = [];
  for (let i = 0; i < CONNECTIONS; i++) cookies.push(await sessionCookie(app.url));
  await load(app.url, cookies, size.warmup);
  const before = await Promise.all(cookies.map((cookie) => viewsOf(app.url, cookie)));
  const result = await load(app.url, cookies, size.seconds);
  const after = await Promise.all(cookies.map((cookie) => viewsOf(app.url, cookie)));
  const counted = after.reduce((sum, views, i) => sum + views - (before[i] as number) - 1, 0);
  const problems: string[] = [];
  if (result.non2xx > 0) problems.push(`${result.non2xx} non-2xx answers`);
  if (result.errors > 0) problems.push(`${result.errors} errors or timeouts`);
  // Each visitor's requests are sequential, so every 2xx answer must have moved its counter.
  if (counted < result.ok) problems.push(`${result.ok} answers but the counters moved by ${counted}`);
  return {
    contender,
    op: "GET / (read + write session)",
    opsPerSec: result.perSecond,
    p99Ms: result.p99Ms,
    ...(problems.length > 0 ? { note: problems.join("; ") } : {}),
  };
}

export const bench: Benchmark = async (ctx) => {
  const size = SIZES[ctx.size];
  const dataDir = mkdtempSync(join(tmpdir(), "sessionkit-bench-e2e-"));
  const measurements: Measurement[] = [];
  const notes: string[] = [
    `autocannon, ${CONNECTIONS} connections, ${size.seconds} s per app after a ${size.warmup} s warm-up, each connection a visitor with its own session and its own autocannon instance (p99: the worst visitor's); the app runs in its own process (node packages/example/dist/main.js, LOG_LEVEL=warn), autocannon in the bench's.`,
    "Every request loads the session, increments the counter and saves it (get + set in the store), and renders the page.",
    `The ceiling is the same app code (createApp) with express-session's MemoryStore: no I/O, no serialization beyond MemoryStore's own JSON.`,
  ];
  try {
    const targets: Array<{ name: string; start(port: number): Promise<App> }> = [
      { name: CEILING_NAME, start: (port) => startApp([CEILING, String(port)], { ...process.env }, port) },
      ...backends().map((backend) => ({
        name: `sessionkit + ${backend}`,
        start: (port: number) =>
          startApp(
            [MAIN],
            {
              ...process.env,
              SESSIONKIT_BACKEND: backend,
              PORT: String(port),
              LOG_LEVEL: "warn",
              SESSIONKIT_DATA_DIR: join(dataDir, backend),
              SESSIONKIT_TABLE: "bench_e2e_sessions",
            },
            port,
          ),
      })),
    ];
    for (const target of targets) {
      ctx.log(target.name);
      let app: App | undefined;
      try {
        app = await target.start(await freePort());
        measurements.push(await measureApp(app, target.name, size));
      } catch (error) {
        const reason = (error instanceof Error ? error.message : String(error)).split("\n")[0];
        ctx.log(`  not measured: ${reason}`);
        notes.push(`${target.name}: not measured (${reason}).`);
      } finally {
        await app?.stop();
      }
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  return [{ title: "End to end: the demo app's counter route over HTTP", baseline: CEILING_NAME, measurements, notes }];
};
