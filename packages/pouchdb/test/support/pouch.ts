import { randomUUID } from "node:crypto";
import type { PouchDatabase } from "@sessionkit/pouchdb";
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
