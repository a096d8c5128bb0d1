import { describe, expect, it } from "vitest";
import { collectGarbage } from "../src/harness.js";
import { balancedOrder, medianRun, middleHalf, pairedRatios, quantile } from "../src/paired-runs.js";

describe("paired runs", () => {
  it("quantile interpolates between the nearest values, whatever their order", () => {
    expect(quantile([3, 1, 2], 0.5)).toBe(2);
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5], 0.25)).toBe(2);
    expect(quantile([10, 20], 0.25)).toBe(12.5);
    expect(quantile([7], 0.75)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it("the median run ignores one outlier, which a total would not", () => {
    const runs = [
      { opsPerSec: 100, p99Ms: 2 },
      { opsPerSec: 10, p99Ms: 90 },
      { opsPerSec: 110, p99Ms: 3 },
    ];
    expect(medianRun(runs)).toEqual({ opsPerSec: 100, p99Ms: 3 });
    expect(medianRun([{ opsPerSec: 5 }, { opsPerSec: 7 }])).toEqual({ opsPerSec: 6 });
  });

  it("pairs the k-th run of each contender, skipping a baseline run with no throughput", () => {
    const ours = [{ opsPerSec: 90 }, { opsPerSec: 120 }, { opsPerSec: 50 }];
    const baseline = [{ opsPerSec: 100 }, { opsPerSec: 100 }, { opsPerSec: 0 }];
    expect(pairedRatios(ours, baseline)).toEqual([0.9, 1.2]);
    expect(pairedRatios(ours, baseline.slice(0, 1))).toEqual([0.9]);
  });

  it("gives the middle half of the ratios as their quartiles", () => {
    expect(middleHalf([0.8, 0.9, 1, 1.1, 1.2])).toBe("0.90-1.10");
  });
});

describe("balancedOrder", () => {
  it("alternates two contenders, starting where asked", () => {
    expect(balancedOrder(["a", "b"], 4).join("")).toBe("abbaabba");
    expect(balancedOrder(["a", "b"], 2, 1).join("")).toBe("baab");
  });

  it("puts each of three contenders in each place of a block equally often, one turn each per block", () => {
    const runs = 6;
    const sequence = balancedOrder(["a", "b", "c"], runs);
    const blocks = Array.from({ length: runs }, (_, k) => sequence.slice(3 * k, 3 * k + 3));
    for (const block of blocks) expect([...block].sort()).toEqual(["a", "b", "c"]);
    for (const place of [0, 1, 2]) {
      const counts = new Map<string, number>();
      for (const block of blocks) counts.set(block[place] as string, (counts.get(block[place] as string) ?? 0) + 1);
      expect(Object.fromEntries(counts)).toEqual({ a: 2, b: 2, c: 2 });
    }
  });
});

describe("collectGarbage", () => {
  it("collects an object nothing refers to any more", async () => {
    let garbage: object | undefined = { payload: "x".repeat(1000) };
    const ref = new WeakRef(garbage);
    garbage = undefined;
    // A WeakRef keeps its target until the current job ends.
    await new Promise((resolve) => setTimeout(resolve, 0));
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
  });
});
