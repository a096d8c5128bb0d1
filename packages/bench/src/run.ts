// The runner behind `pnpm bench`: runs every benchmark module in turn and writes
// docs/benchmarks.md and docs/benchmarks.svg. Flags: --large, --only=knex,pouchdb, --out=DIR.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, type as osType, release, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BenchContext, Benchmark, BenchReport, ModuleResult } from "./harness.js";
import { renderMarkdown, renderSvg } from "./report.js";

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
    else if (arg.startsWith("--out=")) options.outDir = arg.slice("--out=".length);
    else if (arg.startsWith("--only=")) {
      options.only = arg.slice("--only=".length).split(",").filter(Boolean);
      const unknown = options.only.filter((n) => !(MODULES as readonly string[]).includes(n));
      if (unknown.length > 0 || options.only.length === 0) {
        throw new Error(`--only takes a comma-separated list of: ${MODULES.join(", ")} (got "${unknown.join(",")}")`);
      }
    } else throw new Error(`unknown flag ${arg}; use --large, --only=${MODULES.join(",")}, --out=DIR`);
  }
  return options;
}

/**
 * Runs the named modules one after another, each loaded by `load` (injectable for tests). A module
 * that is missing, has no `bench`, or throws becomes a failed result; the others still run.
 */
export async function runModules(
  names: readonly string[],
  ctx: BenchContext,
  load = (name: string): Promise<{ bench?: unknown }> => import(/* @vite-ignore */ `./${name}.js`),
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

/** The installed version of every dependency of the bench package (each store and driver measured). */
function versions(packageDir: string): Record<string, string> {
  const read = (dir: string) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const { dependencies, devDependencies } = read(packageDir);
  const installed = Object.keys({ ...dependencies, ...devDependencies })
    .map((name) => ({ name, dir: join(packageDir, "node_modules", name) }))
    .filter(({ dir }) => existsSync(dir)); // one not installed for the bench is not listed
  return Object.fromEntries(installed.map(({ name, dir }) => [name, read(dir).version]));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let options: RunOptions;
  try {
    options = parseArgs(args, fileURLToPath(new URL("../../../docs", import.meta.url)));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    process.exit(2);
  }
  if (typeof (globalThis as { gc?: unknown }).gc !== "function") {
    process.stderr.write(
      "bench: run node with --expose-gc (pnpm bench does): every timed run starts on a collected heap\n",
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

  const list = cpus();
  const report: BenchReport = {
    date: new Date(),
    size: options.size,
    command: ["pnpm install && pnpm bench", ...args.filter((a) => !a.startsWith("--out="))].join(" "),
    machine: {
      cpus: list[0]?.model.trim() ?? "unknown CPU",
      cores: list.length,
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
  // Some peer stores keep timers running; the report is written, so leave now.
  process.exit(failed.length > 0 ? 1 : 0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
