import { describe, expect, it } from "vitest";
import { BankQueue, BUSY } from "../src/bank-queue.js";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("BankQueue", () => {
  it("runs the operations on one key in call order, one at a time, and other keys alongside", async () => {
    const queue = new BankQueue();
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
    const queue = new BankQueue();
    const failed = queue.run("a", async () => {
      throw new Error("boom");
    });
    const next = queue.run("a", async () => "ran");
    await expect(failed).rejects.toThrow("boom");
    await expect(next).resolves.toBe("ran");
  });

  it("forgets a key once its last operation settled", async () => {
    const queue = new BankQueue();
    await Promise.all([queue.run("a", async () => 1), queue.run("a", async () => 2)]);
    await tick();
    expect(queue.size).toBe(0);
  });

  describe("call (one databank call, freed inside its callback)", () => {
    /** A fake driver call that calls back on the next turn with `error`, logging when it starts and ends. */
    const later =
      (log: string[], name: string, error: unknown = null) =>
      (cb: (error: unknown, value?: string) => void) => {
        log.push(`${name} start`);
        setImmediate(() => {
          log.push(`${name} end`);
          cb(error, name);
        });
      };
    const value = (error: unknown, v: string | undefined) => {
      if (error) throw error;
      return v;
    };

    it("a run queued behind a call waits for its callback, and a call queued behind a run waits for the run", async () => {
      const queue = new BankQueue();
      const log: string[] = [];
      const first = queue.call("a", later(log, "c1"), value);
      const middle = queue.run("a", async () => {
        log.push("r start");
        await tick();
        log.push("r end");
      });
      const last = queue.call("a", later(log, "c2"), value);
      await expect(Promise.all([first, middle, last])).resolves.toEqual(["c1", undefined, "c2"]);
      expect(log).toEqual(["c1 start", "c1 end", "r start", "r end", "c2 start", "c2 end"]);
      expect(queue.size).toBe(0);
    });

    it("a call that fails does not stop the next operation on its key", async () => {
      const queue = new BankQueue();
      const log: string[] = [];
      const failed = queue.call("a", later(log, "c1", new Error("boom")), value);
      const next = queue.run("a", async () => "ran");
      await expect(failed).rejects.toThrow("boom");
      await expect(next).resolves.toBe("ran");
      await tick();
      expect(queue.size).toBe(0);
    });

    it("a driver that calls back synchronously or throws leaves no key behind", async () => {
      const queue = new BankQueue();
      await expect(queue.call("a", (cb) => cb(null, "sync"), value)).resolves.toBe("sync");
      await expect(
        queue.call(
          "b",
          () => {
            throw new Error("threw");
          },
          value,
        ),
      ).rejects.toThrow("threw");
      expect(queue.size).toBe(0);
    });

    it("a settle that returns a promise (a retry) holds the key until that promise settles", async () => {
      const queue = new BankQueue();
      const log: string[] = [];
      let next: Promise<unknown> | undefined;
      const retried = queue.call("a", later(log, "c1", new Error("retry me")), () => {
        // Issued once c1's callback has returned, while its retry still runs.
        queueMicrotask(() => {
          next = queue.call("a", later(log, "c2"), value);
        });
        return tick().then(() => {
          log.push("retry end");
        });
      });
      await retried;
      await next;
      expect(log).toEqual(["c1 start", "c1 end", "retry end", "c2 start", "c2 end"]);
      expect(queue.size).toBe(0);
    });
  });

  describe("callEachIdle (one call per idle key, one promise for all)", () => {
    it("calls every idle key at once, answers each outcome in order, and skips busy keys", async () => {
      const queue = new BankQueue();
      let release: () => void = () => {};
      const running = queue.run("busy", () => new Promise<void>((resolve) => (release = resolve)));
      const started: string[] = [];
      const outcomes = queue.callEachIdle(["a", "busy", "b", "c"], (key, cb) => {
        started.push(key);
        setImmediate(() => cb(key === "b" ? new Error("b failed") : null));
      });
      expect(started).toEqual(["a", "b", "c"]); // all issued before any called back
      await expect(outcomes).resolves.toEqual([null, BUSY, new Error("b failed"), null]);
      release();
      await running;
      expect(queue.size).toBe(0);
    });

    it("absorbs a driver that calls back synchronously, twice, or throws", async () => {
      const queue = new BankQueue();
      const outcomes = await queue.callEachIdle(["sync", "twice", "throws"], (key, cb) => {
        if (key === "throws") throw new Error("threw");
        cb(null);
        if (key === "twice") cb(new Error("second callback"));
      });
      expect(outcomes).toEqual([null, null, new Error("threw")]);
    });

    it("answers at once when every key is busy", async () => {
      const queue = new BankQueue();
      let release: () => void = () => {};
      const running = queue.run("a", () => new Promise<void>((resolve) => (release = resolve)));
      const calls: string[] = [];
      await expect(queue.callEachIdle(["a"], (key) => calls.push(key))).resolves.toEqual([BUSY]);
      expect(calls).toEqual([]);
      release();
      await running;
    });
  });
});
