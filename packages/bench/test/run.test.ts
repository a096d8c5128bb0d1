import { describe, expect, it } from "vitest";
import type { BenchSection } from "../src/harness.js";
import { MODULES, parseArgs, runModules } from "../src/run.js";

const quiet = { size: "small" as const, log: () => {} };
const section: BenchSection = { title: "t", baseline: "b", measurements: [] };

describe("parseArgs", () => {
  it("defaults to the small size, every module, and the given folder", () => {
    expect(parseArgs([], "/docs")).toEqual({ size: "small", only: undefined, outDir: "/docs" });
  });

  it("reads --large, --only and --out", () => {
    expect(parseArgs(["--large", "--only=knex,pouchdb", "--out=/tmp/x"], "/docs")).toEqual({
      size: "large",
      only: ["knex", "pouchdb"],
      outDir: "/tmp/x",
    });
  });

  it("refuses an unknown module or flag, listing what is valid", () => {
    expect(() => parseArgs(["--only=knex,mongo"], "/d")).toThrow(
      `--only takes a comma-separated list of: ${MODULES.join(", ")}`,
    );
    expect(() => parseArgs(["--only="], "/d")).toThrow(/--only/);
    expect(() => parseArgs(["--fast"], "/d")).toThrow(/Unknown option '--fast'.*; use --large/);
  });
});

describe("runModules", () => {
  it("reports a missing, empty or throwing module as failed and still runs the others", async () => {
    const ran: string[] = [];
    const results = await runModules(["missing", "empty", "throws", "works"], quiet, async (name) => {
      ran.push(name);
      if (name === "missing")
        throw Object.assign(new Error("Cannot find module './missing.js'"), { code: "ERR_MODULE_NOT_FOUND" });
      if (name === "empty") return {};
      if (name === "throws") return { bench: async () => Promise.reject(new Error("database down\nstack line")) };
      return { bench: async () => [section] };
    });
    expect(ran).toEqual(["missing", "empty", "throws", "works"]);
    expect(results.map((r) => [r.module, r.error])).toEqual([
      ["missing", "Cannot find module './missing.js'"],
      ["empty", "module empty does not export a bench function"],
      ["throws", "database down"],
      ["works", undefined],
    ]);
    expect(results[3]?.sections).toEqual([section]);
  });

  it("passes the size on and prefixes the module's progress lines", async () => {
    const lines: string[] = [];
    await runModules(["m"], { size: "large", log: (l) => lines.push(l) }, async () => ({
      bench: async (ctx: { size: string; log(m: string): void }) => {
        ctx.log(`size ${ctx.size}`);
        return [];
      },
    }));
    expect(lines).toEqual(["== m", "  size large"]);
  });

  it("every module named in MODULES exists and exports a bench function", async () => {
    for (const name of MODULES) {
      const loaded = (await import(/* @vite-ignore */ new URL(`../src/${name}.ts`, import.meta.url).href)) as {
        bench?: unknown;
      };
      expect(typeof loaded.bench, name).toBe("function");
    }
  });
});

describe("isolated", () => {
  // The built runner: a child process runs dist/run.js (the test build compiles this package first).
  const load = async () =>
    (await import(new URL("../dist/run.js", import.meta.url).href)) as typeof import("../src/run.js");

  it("runs a module in a process of its own and passes its progress lines and sections back", async () => {
    const { isolated } = await load();
    const lines: string[] = [];
    // A fixture that reports at once: a real section takes tens of seconds (the memory module's
    // 18 s ran past the test's time limit in a CI run on a slower machine).
    const { bench } = await isolated("../test/fixtures/tiny", "large");
    const sections = await bench({ size: "large", log: (l) => lines.push(l) });
    expect(sections).toEqual([
      { title: "tiny", baseline: "raw", measurements: [{ contender: "raw", op: "set", opsPerSec: 1 }] },
    ]);
    expect(lines).toEqual(["tiny large"]); // the module's own lines only, and the size passed on
  });

  it("stops a module that has not reported in time and fails it", async () => {
    const { isolated } = await load();
    const { bench } = await isolated("memory", "small", 50);
    await expect(bench(quiet)).rejects.toThrow("its process sent no report within 0.05 s and was stopped");
  });

  it("a module that fails in its process fails the caller with its error", async () => {
    const { isolated, runModules: run } = await load();
    const [result] = await run(["no-such-benchmark"], quiet, (name) => isolated(name, "small"));
    expect(result?.error).toMatch(/no-such-benchmark/);
  });
});
