import { serviceGate } from "@sessionkit/conformance";
import type { SessionBackend } from "@sessionkit/core";
import { afterAll, describe, expect, it } from "vitest";
import { type DatabankLike, databankAdapter } from "../src/index.js";
import { bankCall, connectedBank, deleteRedisKeys, redisCommand, redisParams, testType } from "./helpers.js";

const HOUR = 3_600_000;
const rec = (id: string, expiresAt: number) => ({ id, payload: `{"id":"${id}"}`, expiresAt, owner: null });

/** A real databank that records how many deletes and reads of `type` are in flight at most, and how many ids each batch read. */
function watching(bank: DatabankLike, type: string) {
  const stats = { dels: 0, maxDels: 0, reads: 0, maxReads: 0, recordsRead: 0, chunkKeysRead: 0 };
  const wrapped: DatabankLike = Object.create(bank);
  wrapped.del = (t, id, cb) => {
    if (t !== type) return bank.del(t, id, cb);
    stats.maxDels = Math.max(stats.maxDels, ++stats.dels);
    bank.del(t, id, (error) => {
      stats.dels--;
      cb(error);
    });
  };
  wrapped.readAll = (t, ids, cb) => {
    if (t === `${type}_expiry`) stats.chunkKeysRead += ids.length;
    if (t !== type) return bank.readAll(t, ids, cb);
    stats.recordsRead += ids.length;
    stats.maxReads = Math.max(stats.maxReads, ++stats.reads);
    bank.readAll(t, ids, (error, value) => {
      stats.reads--;
      cb(error, value);
    });
  };
  return { bank: wrapped, stats };
}

async function upsertAll(backend: SessionBackend, records: ReturnType<typeof rec>[]) {
  for (let i = 0; i < records.length; i += 200)
    await Promise.all(records.slice(i, i + 200).map((r) => backend.upsert(r)));
}

/**
 * One bucket holding, interleaved: expired sessions, sessions live but still due in this bucket,
 * and sessions whose entry is stale (expired when indexed, renewed since). Every batch must delete
 * at most its limit, and only expired sessions; the live ones all survive.
 */
async function mixedBucket(bank: DatabankLike, type: string) {
  const { bank: watched, stats } = watching(bank, type);
  // A one-hour bucket: "live but still due in this bucket" sessions exist for sure.
  const backend = databankAdapter(watched, { type, sweepInterval: 0, indexDelay: 5, bucketMs: HOUR });
  await backend.init();
  const now = Date.now();
  const bucketEnd = (Math.floor(now / HOUR) + 1) * HOUR;
  const dueLater = Math.min(now + 60_000, bucketEnd - 1);
  const records = Array.from({ length: 1500 }, (_, i) => {
    const kind = i % 3;
    return rec(`s-${i}`, kind === 0 ? now - 1000 : kind === 1 ? dueLater : now - 2000);
  });
  await upsertAll(backend, records);
  await backend.deleteExpired(now - 10 * HOUR, 1); // writes the pending entries, deletes nothing
  // Renew the third kind: their entries in this bucket are now stale.
  await upsertAll(
    backend,
    records.filter((_, i) => i % 3 === 2).map((r) => ({ ...r, expiresAt: now + 5 * HOUR })),
  );
  const live = records.filter((_, i) => i % 3 !== 0).map((r) => r.id);
  const limit = 137;
  let total = 0;
  for (let batch = 0; batch < 20; batch++) {
    stats.recordsRead = 0;
    const before = await backend.count(now);
    const deleted = await backend.deleteExpired(now, limit);
    expect(deleted).toBeLessThanOrEqual(limit);
    expect(await backend.count(now)).toBe(before); // no live session went
    total += deleted;
    if (deleted < limit) break;
  }
  expect(total).toBe(500);
  for (const id of live) expect(await backend.get(id), id).not.toBeNull();
  return { backend, stats };
}

describe("GC batches (memory driver)", () => {
  it("concurrent reads and deletes stay within their bounds, respect the limit and never delete a live session", async () => {
    const bank = await connectedBank("memory");
    const { backend, stats } = await mixedBucket(bank, "mixed");
    expect(stats.maxDels).toBeGreaterThan(1); // deletes do overlap...
    expect(stats.maxDels).toBeLessThanOrEqual(4 * 64); // ...within READ_CONCURRENCY x DELETE_CONCURRENCY
    expect(stats.maxReads).toBeLessThanOrEqual(4);
    await backend.close();
    await bankCall((cb) => bank.disconnect(cb));
  });

  it("a small batch reads about its limit, not the whole bucket, and later batches do not re-read what is gone", async () => {
    const bank = await connectedBank("memory");
    const type = "partial";
    const { bank: watched, stats } = watching(bank, type);
    const backend = databankAdapter(watched, { type, sweepInterval: 0, indexDelay: 0 });
    await backend.init();
    const now = Date.now();
    // One chunk per upsert (indexDelay 0, written one at a time): 3000 chunks in one bucket.
    await upsertAll(
      backend,
      Array.from({ length: 3000 }, (_, i) => rec(`p-${i}`, now - 1000)),
    );
    await backend.deleteExpired(now - 10 * HOUR, 1); // flush
    const readsPerBatch: number[] = [];
    const chunkReadsPerBatch: number[] = [];
    let total = 0;
    for (;;) {
      stats.recordsRead = 0;
      stats.chunkKeysRead = 0;
      const deleted = await backend.deleteExpired(now, 100);
      readsPerBatch.push(stats.recordsRead);
      chunkReadsPerBatch.push(stats.chunkKeysRead);
      total += deleted;
      if (deleted < 100) break;
    }
    expect(total).toBe(3000);
    expect(Math.max(...readsPerBatch)).toBeLessThanOrEqual(100);
    // Chunk keys read per batch stay bounded (the budget's chunks plus one page), not the whole bucket.
    expect(Math.max(...chunkReadsPerBatch)).toBeLessThan(400);
    await backend.close();
    await bankCall((cb) => bank.disconnect(cb));
  });

  it("a failing delete fails the batch and keeps every entry for the next one", async () => {
    const bank = await connectedBank("memory");
    const type = "failing";
    let failing = true;
    const flaky: DatabankLike = Object.create(bank);
    flaky.del = (t, id, cb) => {
      if (t === type && failing && id === "f-7") return cb(new Error("disk on fire"));
      bank.del(t, id, cb);
    };
    const backend = databankAdapter(flaky, { type, sweepInterval: 0, indexDelay: 0 });
    await backend.init();
    const now = Date.now();
    await upsertAll(
      backend,
      Array.from({ length: 300 }, (_, i) => rec(`f-${i}`, now - 1000)),
    );
    await expect(backend.deleteExpired(now, 1000)).rejects.toThrow(/disk on fire/);
    failing = false;
    expect(await backend.deleteExpired(now, 1000)).toBe(1); // only f-7 was left, and its entry was kept
    expect(await backend.count(0)).toBe(0);
    await backend.close();
    await bankCall((cb) => bank.disconnect(cb));
  });
});

const redisSkip = await serviceGate("Redis", () => redisCommand("PING"));
describe.skipIf(Boolean(redisSkip))("GC batches (databank-redis)", () => {
  const type = testType("gcbatch");
  afterAll(async () => {
    await deleteRedisKeys(type);
  });

  it("pipelined reads and deletes respect the limit and never delete a live session", async () => {
    const bank = await connectedBank("redis", redisParams);
    const { backend, stats } = await mixedBucket(bank, type);
    expect(stats.maxDels).toBeGreaterThan(1);
    expect(stats.maxDels).toBeLessThanOrEqual(4 * 64);
    expect(stats.maxReads).toBeLessThanOrEqual(4);
    await backend.clear();
    await backend.close();
    await bankCall((cb) => bank.disconnect(cb));
  });
});
