import { describe, expect, it } from "vitest";
import { collectGarbage } from "../src/harness.js";
import { medianRun, middleHalf, pairedRatios, quantile } from "../src/paired-runs.js";

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
