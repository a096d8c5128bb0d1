import { randomUUID } from "node:crypto";
import { write } from "@sessionkit/conformance";
import type { PouchDatabase, PouchdbBackend } from "@sessionkit/pouchdb";
import memdown from "memdown";
import PouchDBModule from "pouchdb";
import memoryAdapter from "pouchdb-adapter-memory";
import PouchDBCore from "pouchdb-core";
import mapreduce from "pouchdb-mapreduce";

/** A real PouchDB database a test owns (it closes or destroys it; the adapter never does). */
export type TestDatabase = PouchDatabase & { name: string; close(): Promise<void>; destroy(): Promise<void> };
type Constructor = (new (
  name: string,
  options?: object,
) => TestDatabase) & {
  adapters: Record<string, unknown>;
  preferredAdapters: string[];
  plugin(plugin: unknown): Constructor;
};

/** The `pouchdb` package's constructor, typed by the shape the tests use. */
export const PouchDB = PouchDBModule as unknown as Constructor;

/** A fresh in-memory database (pouchdb's LevelDB adapter over memdown). */
export function memoryDatabase(): TestDatabase {
  return new PouchDB(`test-${randomUUID()}`, { db: memdown });
}

/** A LevelDB database on disk. */
export function leveldbDatabase(path: string): TestDatabase {
  return new PouchDB(path, { adapter: "leveldb" });
}

let core: Constructor | undefined;
/** An in-memory database of a pouchdb-core user, who registered the memory adapter and map/reduce on it. */
export function pouchdbCoreDatabase(): TestDatabase {
  core ??= (PouchDBCore as unknown as Constructor).plugin(memoryAdapter).plugin(mapreduce);
  return new core(`core-${randomUUID()}`, { adapter: "memory" });
}

/** The same database, counting calls per method: how many round trips an operation costs. */
export function countingPouch<T extends object>(db: T): { db: T; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const counted = new Proxy(db, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || typeof property !== "string") return value;
      return (...args: unknown[]) => {
        calls[property] = (calls[property] ?? 0) + 1;
        return value.apply(target, args);
      };
    },
  });
  return { db: counted, calls };
}

/**
 * PouchDB calls per write of `backend` (over a `countingPouch` database) for 60 ids it has never
 * seen, one in three written by `other` first and the rest new: [existing id, new, new] a line.
 */
export async function unknownIdMix(
  backend: PouchdbBackend,
  other: PouchdbBackend,
  calls: Record<string, number>,
): Promise<number[][]> {
  const now = Date.now();
  const lines: number[][] = [];
  for (let line = 0; line < 20; line++) {
    const ids = [`existing-${line}`, `new-${line}-a`, `new-${line}-b`];
    await other.upsert(write(ids[0] as string, now + 3_600_000, { now }));
    const perWrite: number[] = [];
    for (const id of ids) {
      const before = (calls.get ?? 0) + (calls.put ?? 0);
      await backend.upsert(write(id, now + 3_600_000, { now: now + 1 }));
      perWrite.push((calls.get ?? 0) + (calls.put ?? 0) - before);
    }
    lines.push(perWrite);
  }
  return lines;
}
