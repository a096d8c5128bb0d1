import { fromCallback } from "@sessionkit/core/kit";
import { describe, expect, it } from "vitest";

type Callback<T> = (error: unknown, value?: T) => void;

describe("fromCallback", () => {
  it("settles with the callback's value, or its error", async () => {
    expect(await fromCallback<number>((cb) => setImmediate(() => cb(null, 7)))).toBe(7);
    await expect(fromCallback((cb) => cb(new Error("down")))).rejects.toThrow("down");
  });

  it("settles once: a second callback is ignored", async () => {
    let late: Callback<number> = () => {};
    const settled = fromCallback<number>((cb) => {
      late = cb;
      cb(null, 1);
    });
    late(new Error("second callback"));
    late(null, 2);
    expect(await settled).toBe(1);
  });

  it("a synchronous throw rejects, even a throw of nothing, and a later callback is ignored", async () => {
    await expect(
      fromCallback(() => {
        throw new TypeError("driver bug");
      }),
    ).rejects.toThrow(TypeError);
    await expect(
      fromCallback(() => {
        throw undefined;
      }),
    ).rejects.toThrow(/threw undefined/);
    let late: Callback<number> = () => {};
    const thrown = fromCallback<number>((cb) => {
      late = cb;
      throw new Error("thrown");
    });
    late(null, 3);
    await expect(thrown).rejects.toThrow("thrown");
  });

  it("with settle: its answer (value, promise or throw), computed in the callback, sync throws included", async () => {
    const order: string[] = [];
    const answered = fromCallback<number, string>(
      (cb) => {
        cb(null, 2);
        order.push("after callback");
      },
      (error, value) => {
        order.push("settle");
        return `${String(error)} ${value}`;
      },
    );
    expect(order).toEqual(["settle", "after callback"]);
    expect(await answered).toBe("null 2");
    const missing = { name: "NoSuchThingError" };
    const settle = (error: unknown) => {
      if (error !== missing) throw new Error("wrapped", { cause: error });
      return Promise.resolve("missing");
    };
    expect(await fromCallback((cb) => cb(missing), settle)).toBe("missing");
    await expect(fromCallback((cb) => cb("other"), settle)).rejects.toMatchObject({ cause: "other" });
    await expect(
      fromCallback(() => {
        throw missing;
      }, settle),
    ).resolves.toBe("missing");
  });
});
