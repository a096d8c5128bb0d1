import { describe, expect, it } from "vitest";
import { type BenchReport, type BenchSection, ratioTo } from "../src/harness.js";
import { alignedTable, formatRatio, md, renderMarkdown, renderSvg, xml } from "../src/report.js";

const section: BenchSection = {
  title: "knex on PostgreSQL",
  baseline: "raw pg",
  measurements: [
    { contender: "raw pg", op: "get", opsPerSec: 1000, p99Ms: 2 },
    { contender: "sessionkit", op: "get", opsPerSec: 900, p99Ms: 2.5 },
    { contender: "connect-pg-simple", op: "get", opsPerSec: 450, p99Ms: 12.34 },
    { contender: "sessionkit", op: "prune", opsPerSec: 50_000 },
  ],
  notes: ["pools of 10 | connections"],
};

function report(overrides: Partial<BenchReport> = {}): BenchReport {
  return {
    date: new Date("2026-01-02T03:04:05Z"),
    size: "small",
    command: "pnpm install && pnpm bench",
    machine: { cpus: "Test CPU", cores: 2, memoryGiB: 8, node: "20.20.2", os: "Linux 6" },
    versions: { "express-session": "1.19.0", "@sessionkit/core": "0.1.0" },
    results: [{ module: "knex", sections: [section], seconds: 12 }],
    ...overrides,
  };
}

describe("ratios", () => {
  it("divide by the same op of the named contender, or are undefined without one", () => {
    const [, sessionkit, peer, prune] = section.measurements;
    expect(ratioTo(section, sessionkit as never, "raw pg")).toBeCloseTo(0.9);
    expect(ratioTo(section, peer as never, "sessionkit")).toBeCloseTo(0.5);
    expect(ratioTo(section, prune as never, "raw pg")).toBeUndefined();
    expect(formatRatio(undefined)).toBe("—");
    expect(formatRatio(12.345)).toBe("12.3×");
    expect(formatRatio(0.456)).toBe("0.46×");
  });
});

describe("renderMarkdown", () => {
  it("has the machine, date, command, a table per section and the versions", () => {
    const text = renderMarkdown(report(), "benchmarks.svg").replace(/ {2,}/g, " ");
    expect(text).toContain("- **Date:** 2026-01-02T03:04:05.000Z");
    expect(text).toContain("`pnpm install && pnpm bench`");
    expect(text).toContain("2 × Test CPU, 8 GiB RAM, Linux 6, Node 20.20.2");
    expect(text).toContain("![Ratios to each section's baseline](benchmarks.svg)");
    expect(text).toContain("## knex on PostgreSQL");
    expect(text).toContain("| sessionkit | get | 900 | 0.90× | 1.00× | 2.50 | |");
    expect(text).toContain("| connect-pg-simple | get | 450 | 0.45× | 0.50× | 12.3 | |");
    expect(text).toContain("| sessionkit | prune | 50,000 | — | 1.00× | — | |");
    expect(text).toContain("- pools of 10 \\| connections");
    expect(text).toContain("| @sessionkit/core | 0.1.0 |");
  });

  it("shows a failed module as a failed section instead of dropping it", () => {
    const text = renderMarkdown(
      report({
        results: [
          { module: "pouchdb", sections: [], error: "Cannot find module './pouchdb.js'", seconds: 0 },
          { module: "knex", sections: [section], seconds: 1 },
        ],
      }),
      "b.svg",
    );
    expect(text).toContain("## Failed sections");
    expect(text).toContain("- **pouchdb**: Cannot find module './pouchdb.js'");
    expect(text).toContain("## pouchdb: failed");
    expect(text).toContain("## knex on PostgreSQL");
  });

  it("pads table columns the way Biome formats them, right-aligning the figures", () => {
    expect(
      alignedTable(["a", "figure"], "lr", [
        ["long name", "1"],
        ["x", "22"],
      ]),
    ).toEqual(["| a         | figure |", "| --------- | -----: |", "| long name |      1 |", "| x         |     22 |"]);
  });

  it("keeps table cells intact whatever a note or name contains", () => {
    expect(md("a|b\nc <b>")).toBe("a\\|b c &lt;b&gt;");
  });
});

describe("renderSvg", () => {
  it("draws one bar per non-baseline measurement with a ratio, escaped", () => {
    const svg = renderSvg(
      report({ results: [{ module: "x", seconds: 1, sections: [{ ...section, title: "A & <B>" }] }] }),
    );
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("A &amp; &lt;B&gt;");
    expect(svg.match(/<rect x=/g)).toHaveLength(2); // sessionkit get and connect-pg-simple get
    expect(svg).toContain("0.90×");
    expect(svg).toContain("0.45×");
    expect(svg).toContain('fill="#3b5bdb"'); // sessionkit stands out
  });

  it("says so when there is nothing to draw", () => {
    expect(renderSvg(report({ results: [{ module: "x", seconds: 0, sections: [], error: "boom" }] }))).toContain(
      "No measurements.",
    );
    expect(xml(`"<&>"`)).toBe("&quot;&lt;&amp;&gt;&quot;");
  });
});
