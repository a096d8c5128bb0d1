// `pnpm bench`: runs the benchmark modules in turn, then writes docs/benchmarks.md and
// docs/benchmarks.svg. Flags: --large, --only=knex,pouchdb, --out=DIR.
import { fork } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, type as osType, release, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs as parse } from "node:util";
import type { BenchContext, Benchmark, BenchSection, ModuleResult } from "./harness.js";
import { renderMarkdown, renderSvg } from "./report.js";

/** Every module, in running order (src/<name>.ts, exporting `bench`). */
export const MODULES = ["memory", "knex", "gc", "redis", "e2e", "pouchdb", "databank"] as const;

/** The command line's options; throws on an unknown flag or module. */
export function parseArgs(args: string[], defaultOutDir: string) {
  const flags = {
    large: { type: "boolean" },
    only: { type: "string" },
    out: { type: "string" },
    child: { type: "string" },
  } as const;
  let values: { large?: boolean; only?: string; out?: string; child?: string };
  try {
    values = parse({ args, options: flags }).values;
  } catch (error) {
    throw new Error(`${(error as Error).message}; use --large, --only=${MODULES.join(",")}, --out=DIR`);
  }
  const only = values.only?.split(",").filter(Boolean);
  const unknown = only?.filter((n) => !(MODULES as readonly string[]).includes(n)) ?? [];
  if (unknown.length > 0 || only?.length === 0)
    throw new Error(`--only takes a comma-separated list of: ${MODULES.join(", ")} (got "${unknown.join(",")}")`);
  const size = values.large ? ("large" as const) : ("small" as const);
  return { size, only, outDir: values.out ?? defaultOutDir, ...(values.child && { child: values.child }) };
}

/** Runs the named modules in turn, each loaded by `load` (the runner's: `isolated`); one missing, without `bench`, or throwing becomes a failed result. */
export async function runModules(
  names: readonly string[],
  ctx: BenchContext,
  load: (name: string) => Promise<{ bench?: unknown }>,
): Promise<ModuleResult[]> {
  const results: ModuleResult[] = [];
  for (const name of names) {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    ctx.log(`== ${name}`);
    try {
      const { bench } = await load(name);
      if (typeof bench !== "function") throw new Error(`module ${name} does not export a bench function`);
      const sections = await (bench as Benchmark)({ ...ctx, log: (m) => ctx.log(`  ${m}`) });
      results.push({ module: name, sections, seconds: seconds() });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      ctx.log(`  FAILED: ${message}`);
      results.push({ module: name, sections: [], error: message.split("\n")[0] as string, seconds: seconds() });
    }
  }
  return results;
}

type Message = { log: string } | { sections: BenchSection[] } | { error: string };

/**
 * Loads module `name` as a child process of this file (`--child=<name>`): a heap of its own, and
 * no timer or connection left behind by another module's stores. Its log comes over IPC. A child
 * that has not reported within `limitMs` (default: 20 minutes, 2 hours at the large size) is
 * killed, and the module fails.
 */
export function isolated(name: string, size: "small" | "large", limitMs = (size === "large" ? 120 : 20) * 60_000) {
  const bench: Benchmark = (ctx) =>
    new Promise((resolve, reject) => {
      const args = [`--child=${name}`, ...(size === "large" ? ["--large"] : [])];
      const options = { execArgv: process.execArgv, serialization: "advanced" } as const;
      const proc = fork(fileURLToPath(import.meta.url), args, options);
      let timedOut = false;
      const limit = setTimeout(() => {
        timedOut = true;
        proc.kill("SIGKILL");
      }, limitMs);
      proc.on("message", (m: Message) => {
        if ("log" in m) ctx.log(m.log);
        else if ("sections" in m) resolve(m.sections);
        else reject(new Error(m.error));
      });
      proc.on("error", (error) => {
        clearTimeout(limit); // a process that could not start has no exit to wait for
        reject(error);
      });
      proc.on("exit", (code, signal) => {
        clearTimeout(limit);
        const why = timedOut
          ? `sent no report within ${limitMs / 1000} s and was stopped`
          : `exited (${signal ?? code}) before it reported`;
        reject(new Error(`its process ${why}`));
      });
    });
  return Promise.resolve({ bench });
}

/** The child of `isolated`: runs module `name`, sends its log and its sections (or its error) to the parent. */
async function child(name: string, size: "small" | "large"): Promise<void> {
  const channel = process.send?.bind(process);
  if (!channel) throw new Error("--child is the runner's own: it reports over IPC, to the process that forked it");
  const send = (m: Message) => new Promise((resolve) => channel(m, undefined, {}, resolve));
  try {
    const { bench } = (await import(/* @vite-ignore */ `./${name}.js`)) as { bench: Benchmark };
    await send({ sections: await bench({ size, log: (log) => void send({ log }) }) });
  } catch (error) {
    await send({ error: error instanceof Error ? error.message : String(error) });
  }
}

/** The installed version of each dependency of this package (one not installed is left out). */
function versions(dir: string): Record<string, string> {
  const read = (d: string) => JSON.parse(readFileSync(join(d, "package.json"), "utf8"));
  const { dependencies, devDependencies } = read(dir);
  const names = Object.keys({ ...dependencies, ...devDependencies });
  const installed = names.filter((name) => existsSync(join(dir, "node_modules", name)));
  return Object.fromEntries(installed.map((name) => [name, read(join(dir, "node_modules", name)).version]));
}

async function main(args: string[]): Promise<number> {
  const options = parseArgs(args, fileURLToPath(new URL("../../../docs", import.meta.url)));
  if (options.child) {
    await child(options.child, options.size);
    return 0;
  }
  if (typeof (globalThis as { gc?: unknown }).gc !== "function")
    throw new Error("run node with --expose-gc (pnpm bench does): every timed run starts on a collected heap");
  const names = options.only ?? MODULES;
  const started = performance.now();
  const log = (message: string) =>
    process.stdout.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
  log(`sessionkit benchmarks (${options.size}): ${names.join(", ")}`);
  const results = await runModules(names, { size: options.size, log }, (name) => isolated(name, options.size));
  const [cpu] = cpus();
  const report = {
    date: new Date(),
    size: options.size,
    command: ["pnpm install && pnpm bench", ...args.filter((a) => !a.startsWith("--out="))].join(" "),
    machine: {
      cpus: cpu?.model.trim() ?? "unknown CPU",
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.versions.node,
      os: `${osType()} ${release()}`,
    },
    versions: versions(fileURLToPath(new URL("../", import.meta.url))),
    results,
  };
  mkdirSync(options.outDir, { recursive: true });
  writeFileSync(join(options.outDir, "benchmarks.svg"), renderSvg(report));
  writeFileSync(join(options.outDir, "benchmarks.md"), renderMarkdown(report, "benchmarks.svg"));
  log(`wrote ${join(options.outDir, "benchmarks.md")} and benchmarks.svg`);
  const failed = results.filter((r) => r.error).map((r) => r.module);
  if (failed.length > 0) log(`failed: ${failed.join(", ")}`);
  return failed.length > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Some peer stores keep timers running: once the report is written (or the run refused), leave.
  const code = await main(process.argv.slice(2)).catch((error: Error) => {
    process.stderr.write(`bench: ${error.message}\n`);
    return 2;
  });
  process.exit(code);
}
