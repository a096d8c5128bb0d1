import { KeyedQueue } from "@sessionkit/core/kit";
import { describe, expect, it } from "vitest";

/** A task that records when it starts and finishes, and settles when told. */
function gate(log: string[], name: string) {
  let settle!: (ok: boolean) => void;
  const done = new Promise<boolean>((resolve) => (settle = resolve));
  const task = async () => {
    log.push(`start ${name}`);
    const ok = await done;
    log.push(`end ${name}`);
    if (!ok) throw new Error(`${name} failed`);
    return name;
  };
  return { task, settle };
}

describe("KeyedQueue", () => {
  it("starts a task at once when nothing is queued for its key", () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    void queue.run("a", gate(log, "a1").task);
    void queue.run("b", gate(log, "b1").task);
    expect(log).toEqual(["start a1", "start b1"]);
  });

  it("runs one key's tasks one at a time in call order, even after a failure", async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const [first, second, third] = [gate(log, "1"), gate(log, "2"), gate(log, "3")];
    const results = [queue.run("k", first.task), queue.run("k", second.task), queue.run("k", third.task)];
    await Promise.resolve();
    expect(log).toEqual(["start 1"]);
    first.settle(false);
    await expect(results[0]).rejects.toThrow("1 failed");
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(["start 1", "end 1", "start 2"]);
    second.settle(true);
    third.settle(true);
    expect(await Promise.all(results.slice(1))).toEqual(["2", "3"]);
    expect(log).toEqual(["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]);
  });

  it("turns a task's synchronous throw into its rejection and keeps going", async () => {
    const queue = new KeyedQueue();
    const thrown = queue.run("k", () => {
      throw new Error("sync");
    });
    await expect(thrown).rejects.toThrow("sync");
    expect(await queue.run("k", async () => "next")).toBe("next");
  });

  it("forgets a key once its tasks have settled", async () => {
    const queue = new KeyedQueue();
    await Promise.allSettled([
      queue.run("a", async () => 1),
      queue.run("a", async () => Promise.reject(new Error("x"))),
    ]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.size).toBe(0);
  });
});
