import { memoryBackend } from "@sessionkit/core";
import { describe, expect, it } from "vitest";

// The shared conformance suite runs in packages/conformance; these are memoryBackend's own promises.
describe("memoryBackend", () => {
  it("leaves no index entries behind: memory is bounded by live sessions", async () => {
    const backend = memoryBackend({ bucketMs: 1000 });
    const now = Date.now();
    for (let i = 0; i < 500; i++) {
      await backend.upsert({ id: `s${i}`, payload: "{}", expiresAt: now + (i % 50) * 1000, owner: `o${i % 7}` });
      await backend.touch(`s${i}`, now - 1, now - 60_000); // every one moves buckets, then expires
    }
    while ((await backend.deleteExpired(now, 100)) > 0);
    const internals = backend as unknown as {
      records: Map<unknown, unknown>;
      buckets: Map<unknown, unknown>;
      owners: Map<unknown, unknown>;
    };
    expect(internals.records.size).toBe(0);
    expect(internals.buckets.size).toBe(0);
    expect(internals.owners.size).toBe(0);
  });

  it("GC visits only buckets that have started to expire", async () => {
    const backend = memoryBackend({ bucketMs: 1000 });
    const now = 1_000_000_000;
    for (let i = 0; i < 1000; i++)
      await backend.upsert({ id: `live${i}`, payload: "{}", expiresAt: now + 5000 + i, owner: null });
    await backend.upsert({ id: "old", payload: "{}", expiresAt: now - 10, owner: null });
    const internals = backend as unknown as { records: Map<string, unknown> };
    let lookups = 0;
    const get = internals.records.get.bind(internals.records);
    internals.records.get = (id: string) => {
      lookups++;
      return get(id);
    };
    expect(await backend.deleteExpired(now, 100)).toBe(1);
    expect(lookups).toBeLessThan(5);
  });

  it("keeps its indexes right when writes and touches stay within one bucket or move across", async () => {
    const backend = memoryBackend({ bucketMs: 1000 });
    const now = 1_000_000_000;
    await backend.upsert({ id: "a", payload: "{}", expiresAt: now + 100, owner: "o1" });
    await backend.upsert({ id: "a", payload: "{}", expiresAt: now + 200, owner: "o1" }); // same bucket, same owner
    await backend.touch("a", now + 300, now); // same bucket
    expect(await backend.deleteExpired(now + 250, 10)).toBe(0);
    await backend.upsert({ id: "a", payload: "{}", expiresAt: now + 300, owner: "o2" }); // owner moves
    expect(await backend.destroyByOwner("o1")).toBe(0);
    await backend.touch("a", now + 5000, now); // bucket moves
    expect(await backend.deleteExpired(now + 4000, 10)).toBe(0);
    expect(await backend.deleteExpired(now + 5000, 10)).toBe(1);
    expect(await backend.destroyByOwner("o2")).toBe(0);
  });

  it("rejects a bad bucket width", () => {
    expect(() => memoryBackend({ bucketMs: 0 })).toThrow(expect.objectContaining({ code: "ERR_SESSION_CONFIG" }));
    expect(() => memoryBackend({ bucketMs: 0 })).toThrow(/"bucketMs"/);
  });
});
