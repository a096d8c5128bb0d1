import { describe, expect, it } from "vitest";
import { type DatabankLike, databankAdapter } from "../src/index.js";
import { bankCall, connectedBank } from "./helpers.js";

const HOUR = 3_600_000;
const rec = (id: string) => ({ id, payload: `{"id":"${id}"}`, expiresAt: Date.now() + HOUR, owner: null });

function alreadyExists(): Error {
  const error = new Error("already exists");
  error.name = "AlreadyExistsError";
  return error;
}

/** A memory bank whose session saves go through `save` first (the other types are left alone). */
async function withSave(type: string, save: (real: DatabankLike["save"]) => DatabankLike["save"]) {
  const bank = await connectedBank("memory");
  const wrapped: DatabankLike = Object.create(bank);
  const real = bank.save.bind(bank);
  const replaced = save(real);
  wrapped.save = (t, id, value, cb) => (t === type ? replaced(t, id, value, cb) : real(t, id, value, cb));
  const backend = databankAdapter(wrapped, { type, sweepInterval: 0 });
  await backend.init();
  return { bank, backend };
}

describe("upsert's save", () => {
  it("retries a save that lost a create race (AlreadyExistsError), then stores the session", async () => {
    let failures = 2;
    const { bank, backend } = await withSave("race", (real) => (t, id, value, cb) => {
      if (failures-- > 0) return setImmediate(() => cb(alreadyExists()));
      real(t, id, value, cb);
    });
    await backend.upsert(rec("r1"));
    expect((await backend.get("r1"))?.payload).toBe('{"id":"r1"}');
    await backend.close();
    await bankCall((cb) => bank.disconnect(cb));
  });

  it("gives up after 4 attempts and rejects with the driver's error", async () => {
    let attempts = 0;
    const { bank, backend } = await withSave("race_lost", () => (_t, _id, _value, cb) => {
      attempts++;
      setImmediate(() => cb(alreadyExists()));
    });
    await expect(backend.upsert(rec("r2"))).rejects.toThrow("already exists");
    expect(attempts).toBe(4);
    await backend.close();
    await bankCall((cb) => bank.disconnect(cb));
  });

  it("a driver that calls back twice settles the upsert once; one that throws rejects it", async () => {
    const { bank, backend } = await withSave("twice", (real) => (t, id, value, cb) => {
      if (id === "boom") throw new Error("driver threw");
      real(t, id, value, (error, saved) => {
        cb(error, saved);
        cb(new Error("a late second callback"));
      });
    });
    await expect(backend.upsert(rec("t1"))).resolves.toBeUndefined();
    await expect(backend.upsert(rec("boom"))).rejects.toThrow("driver threw");
    await backend.close();
    await bankCall((cb) => bank.disconnect(cb));
  });
});
