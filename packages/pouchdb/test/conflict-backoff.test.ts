import { describe, expect, it } from "vitest";
import { conflictBackoff } from "../src/conflict-backoff.js";

const retries = Array.from({ length: 10 }, (_, i) => i + 1);
const never = () => 0;
const always = () => 0.999_999;

describe("conflictBackoff", () => {
  it("retries a stale cached revision at once", () => {
    expect(conflictBackoff(1, always)).toBe(0);
  });

  it("waits longer for each later retry, with jitter in the upper half of the wait", () => {
    const lowest = retries.map((retry) => conflictBackoff(retry, never));
    const highest = retries.map((retry) => conflictBackoff(retry, always));
    expect(lowest).toEqual([0, 2, 4, 8, 16, 32, 64, 128, 128, 128]);
    for (const [i, high] of highest.entries()) {
      expect(high).toBeGreaterThanOrEqual(lowest[i] ?? 0);
      expect(high).toBeLessThanOrEqual(2 * (lowest[i] ?? 0));
    }
  });

  it("spreads the default ten retries over at least half a second, so a rival's burst can end", () => {
    const shortest = retries.reduce((sum, retry) => sum + conflictBackoff(retry, never), 0);
    expect(shortest).toBeGreaterThanOrEqual(500);
  });
});
