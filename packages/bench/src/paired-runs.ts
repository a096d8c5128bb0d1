/** One timed run: its throughput, and its p99 latency (none for a one-shot job). */
export type Run = { opsPerSec: number; p99Ms?: number };

/** The median run's throughput, and the median p99 (when the runs have one). */
export function medianRun(runs: Run[]): Run {
  const p99s = runs.flatMap((r) => (r.p99Ms === undefined ? [] : [r.p99Ms]));
  const opsPerSec = quantile(
    runs.map((r) => r.opsPerSec),
    0.5,
  );
  return p99s.length > 0 ? { opsPerSec, p99Ms: quantile(p99s, 0.5) } : { opsPerSec };
}

/**
 * The ratios of runs that ran side by side: run k of `ours` over run k of `baseline` (runs go
 * in blocks of one turn per contender, so the k-th runs of two contenders share block k).
 */
export function pairedRatios(ours: Run[], baseline: Run[]): number[] {
  return ours.flatMap((run, k) => {
    const other = baseline[k];
    return other && other.opsPerSec > 0 ? [run.opsPerSec / other.opsPerSec] : [];
  });
}

/** The first and third quartiles of `ratios`, as "0.88-1.01". */
export function middleHalf(ratios: number[]): string {
  return `${quantile(ratios, 0.25).toFixed(2)}-${quantile(ratios, 0.75).toFixed(2)}`;
}

/** The q-quantile of `values`, interpolated between the two nearest (NaN when there are none). */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const at = (sorted.length - 1) * q;
  const below = Math.floor(at);
  const lower = sorted[below] as number;
  const upper = sorted[Math.min(below + 1, sorted.length - 1)] as number;
  return lower + (upper - lower) * (at - below);
}

/**
 * `runs` turns per contender, in blocks that go through every order of the contenders (A-B,
 * B-A for two; all six for three), starting at order `start`: each contender runs in each place
 * equally often, so a steady drift favours none. Run k of every contender is in block k.
 */
export function balancedOrder<T>(contenders: T[], runs: number, start = 0): T[] {
  const orders = permutations(contenders);
  const sequence: T[] = [];
  for (let block = 0; block < runs; block++) sequence.push(...(orders[(start + block) % orders.length] ?? []));
  return sequence;
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}
