import { memoryBackend, type SessionWrite } from "@sessionkit/core";
import { describe, expect, it } from "vitest";

const write = (id: string, expiresAt: number, owner: string | null = null, now = 0): SessionWrite => ({
  id,
  payload: "{}",
  expiresAt,
  owner,
  now,
});

/** memoryBackend's private maps, to check it leaves nothing behind. */
function internals(backend: unknown) {
  return backend as { entries: Map<string, unknown>; buckets: Map<unknown, unknown>; owners: Map<unknown, unknown> };
}

// The shared conformance suite runs in packages/conformance; these are memoryBackend's own promises.
describe("memoryBackend", () => {
  it("leaves no index entries behind, tombstones included: memory is bounded by live sessions", async () => {
    const backend = memoryBackend({ bucketMs: 1000 });
    const now = 1_000_000_000;
    for (let i = 0; i < 500; i++) {
      await backend.upsert(write(`s${i}`, now + (i % 50) * 1000, `o${i % 7}`));
      // every one moves buckets, then expires; every third is destroyed with a tombstone
      await backend.touch({ id: `s${i}`, expiresAt: now - 1, now: now - 60_000, owner: null });
      if (i % 3 === 0) await backend.destroy(`s${i}`, { now: now - 50_000, until: now - 2 });
    }
    while ((await backend.deleteExpired(now, 100)) > 0);
    expect(internals(backend).entries.size).toBe(0);
    expect(internals(backend).buckets.size).toBe(0);
    expect(internals(backend).owners.size).toBe(0);
  });

  it("GC visits only buckets that have started to expire", async () => {
    const backend = memoryBackend({ bucketMs: 1000 });
    const now = 1_000_000_000;
    for (let i = 0; i < 1000; i++) await backend.upsert(write(`live${i}`, now + 5000 + i));
    await backend.upsert(write("old", now - 10));
    const entries = internals(backend).entries;
    let lookups = 0;
    const get = entries.get.bind(entries);
    entries.get = (id: string) => {
      lookups++;
      return get(id);
    };
    expect(await backend.deleteExpired(now, 100)).toBe(1);
    expect(lookups).toBeLessThan(5);
  });

  it("keeps its indexes right when writes and touches stay within one bucket or move across", async () => {
    const backend = memoryBackend({ bucketMs: 1000 });
    const now = 1_000_000_000;
    await backend.upsert(write("a", now + 100, "o1"));
    await backend.upsert(write("a", now + 200, "o1")); // same bucket, same owner
    await backend.touch({ id: "a", expiresAt: now + 300, now, owner: "o1" }); // same bucket
    expect(await backend.deleteExpired(now + 250, 10)).toBe(0);
    await backend.upsert(write("a", now + 300, "o2")); // owner moves
    expect(await backend.destroyByOwner("o1")).toBe(0);
    await backend.touch({ id: "a", expiresAt: now + 5000, now, owner: "o2" }); // bucket moves
    expect(await backend.deleteExpired(now + 4000, 10)).toBe(0);
    expect(await backend.deleteExpired(now + 5000, 10)).toBe(1);
    expect(await backend.destroyByOwner("o2")).toBe(0);
  });

  it("rejects a bad bucket width and unknown options", () => {
    expect(() => memoryBackend({ bucketMs: 0 })).toThrow(expect.objectContaining({ code: "ERR_SESSION_CONFIG" }));
    expect(() => memoryBackend({ bucketMs: 0 })).toThrow(/"bucketMs"/);
    expect(() => memoryBackend({ bucketMS: 10 } as never)).toThrow(/"bucketMS" is not an option of memoryBackend/);
  });
});
