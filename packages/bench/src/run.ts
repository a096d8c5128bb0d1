// The runner behind `pnpm bench`: runs every benchmark module in turn and writes
// docs/benchmarks.md and docs/benchmarks.svg. Flags: --large, --only=knex,pouchdb, --out=DIR.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, type as osType, release, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BenchContext, Benchmark, BenchReport, ModuleResult } from "./harness.js";
import { renderMarkdown } from "./report.js";
import { renderSvg } from "./report-svg.js";

/** Every benchmark module, in the order they run (each is src/<name>.ts exporting `bench`). */
export const MODULES = ["memory", "knex", "gc", "redis", "e2e", "pouchdb", "databank"] as const;

export interface RunOptions {
  size: "small" | "large";
  only: string[] | undefined;
  outDir: string;
}

/** Parses the command line; throws on an unknown flag or module name. */
export function parseArgs(argv: string[], defaultOutDir: string): RunOptions {
  const options: RunOptions = { size: "small", only: undefined, outDir: defaultOutDir };
  for (const arg of argv) {
    if (arg === "--large") options.size = "large";
    else if (arg === "--small") options.size = "small";
    else if (arg.startsWith("--only=")) {
      const names = arg.slice("--only=".length).split(",").filter(Boolean);
      const unknown = names.filter((n) => !(MODULES as readonly string[]).includes(n));
      if (unknown.length > 0 || names.length === 0) {
        throw new Error(`--only takes a comma-separated list of: ${MODULES.join(", ")} (got "${unknown.join(",")}")`);
      }
      options.only = names;
    } else if (arg.startsWith("--out=")) options.outDir = arg.slice("--out=".length);
    else throw new Error(`unknown flag ${arg}; use --large, --only=${MODULES.join(",")}, --out=DIR`);
  }
  return options;
}

/** Loads a module's `bench`; the loader is injectable so a missing or broken module can be tested. */
export type ModuleLoader = (name: string) => Promise<{ bench?: unknown }>;

const defaultLoader: ModuleLoader = (name) => import(/* @vite-ignore */ `./${name}.js`);

/**
 * Runs the named modules one after another. A module that is missing, has no `bench`, or
 * throws becomes a failed result; the others still run.
 */
export async function runModules(
  names: readonly string[],
  ctx: BenchContext,
  load: ModuleLoader = defaultLoader,
): Promise<ModuleResult[]> {
  const results: ModuleResult[] = [];
  for (const name of names) {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    ctx.log(`== ${name}`);
    try {
      const loaded = await load(name);
      if (typeof loaded.bench !== "function") throw new Error(`module ${name} does not export a bench function`);
      const sections = await (loaded.bench as Benchmark)({ ...ctx, log: (m) => ctx.log(`  ${m}`) });
      results.push({ module: name, sections, seconds: seconds() });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      ctx.log(`  FAILED: ${message}`);
      results.push({ module: name, sections: [], error: message.split("\n")[0] as string, seconds: seconds() });
    }
  }
  return results;
}

function machine(): BenchReport["machine"] {
  const list = cpus();
  return {
    cpus: list[0]?.model.trim() ?? "unknown CPU",
    cores: list.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.versions.node,
    os: `${osType()} ${release()}`,
  };
}

/** The installed version of every dependency of the bench package (each store and driver measured). */
function versions(packageDir: string): Record<string, string> {
  const read = (...path: string[]) => JSON.parse(readFileSync(join(packageDir, ...path, "package.json"), "utf8"));
  const own = read();
  const version = (name: string): Array<[string, string]> => {
    try {
      return [[name, read("node_modules", name).version]];
    } catch {
      return []; // not installed for the bench: not listed
    }
  };
  return Object.fromEntries(Object.keys({ ...own.dependencies, ...own.devDependencies }).flatMap(version));
}

async function main(): Promise<void> {
  const packageDir = fileURLToPath(new URL("../", import.meta.url));
  const root = fileURLToPath(new URL("../../../", import.meta.url));
  let options: RunOptions;
  try {
    options = parseArgs(process.argv.slice(2), join(root, "docs"));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    process.exit(2);
  }
  if (typeof (globalThis as { gc?: unknown }).gc !== "function") {
    process.stderr.write(
      "bench: run node with --expose-gc (pnpm bench does), so every timed run starts on a collected heap\n",
    );
    process.exit(2);
  }
  const names = options.only ?? MODULES;
  const started = performance.now();
  // Each line says how far into the run it is, so a slow step shows.
  const log = (message: string) =>
    process.stdout.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
  log(`sessionkit benchmarks (${options.size}): ${names.join(", ")}`);
  const results = await runModules(names, { size: options.size, log });

  const flags = [options.size === "large" ? "--large" : "", options.only ? `--only=${options.only.join(",")}` : ""]
    .filter(Boolean)
    .join(" ");
  const report: BenchReport = {
    date: new Date(),
    size: options.size,
    command: `pnpm install && pnpm bench${flags ? ` ${flags}` : ""}`,
    machine: machine(),
    versions: versions(packageDir),
    results,
  };
  mkdirSync(options.outDir, { recursive: true });
  writeFileSync(join(options.outDir, "benchmarks.svg"), renderSvg(results));
  writeFileSync(join(options.outDir, "benchmarks.md"), renderMarkdown(report, "benchmarks.svg"));
  log(`wrote ${join(options.outDir, "benchmarks.md")} and benchmarks.svg`);
  const failed = results.filter((r) => r.error).map((r) => r.module);
  if (failed.length > 0) log(`failed: ${failed.join(", ")}`);
  // Some peer stores keep timers running; the report is written, so leave now.
  process.exit(failed.length > 0 ? 1 : 0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
