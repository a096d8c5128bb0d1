import { describe, expect, it } from "vitest";
import { KeyedQueue } from "../src/keyed-queue.js";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("KeyedQueue", () => {
  it("runs the operations on one key in call order, one at a time, and other keys alongside", async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const op = (name: string) => async () => {
      log.push(`${name} start`);
      await tick();
      log.push(`${name} end`);
    };
    await Promise.all([queue.run("a", op("a1")), queue.run("a", op("a2")), queue.run("b", op("b1"))]);
    expect(log.indexOf("a1 end")).toBeLessThan(log.indexOf("a2 start"));
    expect(log.indexOf("b1 start")).toBeLessThan(log.indexOf("a1 end"));
  });

  it("a failed operation rejects its own caller only, and the next one still runs", async () => {
    const queue = new KeyedQueue();
    const failed = queue.run("a", async () => {
      throw new Error("boom");
    });
    const next = queue.run("a", async () => "ran");
    await expect(failed).rejects.toThrow("boom");
    await expect(next).resolves.toBe("ran");
  });

  it("forgets a key once its last operation settled", async () => {
    const queue = new KeyedQueue();
    await Promise.all([queue.run("a", async () => 1), queue.run("a", async () => 2)]);
    await tick();
    expect(queue.size).toBe(0);
  });
});
