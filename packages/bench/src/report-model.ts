import type { BenchSection, Measurement } from "./harness.js";

/** What one benchmark module produced: its sections, or why it failed. */
export interface ModuleResult {
  /** The module name, e.g. "knex". */
  module: string;
  sections: BenchSection[];
  /** Set when the module could not be loaded or threw: the report shows it as a failed section. */
  error?: string;
  seconds: number;
}

/** Everything docs/benchmarks.md is made of. */
export interface BenchReport {
  date: Date;
  size: "small" | "large";
  /** The command that reproduces the run. */
  command: string;
  machine: { cpus: string; cores: number; memoryGiB: number; node: string; os: string };
  /** Package name -> version, for every store and driver measured. */
  versions: Record<string, string>;
  results: ModuleResult[];
}

/** The contender whose ratios the "× sessionkit" column uses. */
export const SESSIONKIT = "sessionkit";

/** `m`'s ops/s divided by the ops/s of `contender` for the same op, or undefined when there is none. */
export function ratioTo(section: BenchSection, m: Measurement, contender: string): number | undefined {
  const reference = section.measurements.find((other) => other.contender === contender && other.op === m.op);
  if (!reference || !(reference.opsPerSec > 0) || !Number.isFinite(m.opsPerSec)) return undefined;
  return m.opsPerSec / reference.opsPerSec;
}
