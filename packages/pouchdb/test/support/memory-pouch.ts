import { randomUUID } from "node:crypto";
import type { PouchDatabase } from "@sessionkit/pouchdb";
import memoryAdapter from "pouchdb-adapter-memory";
import PouchDB from "pouchdb-core";
import mapreduce from "pouchdb-mapreduce";

type Constructor = new (name: string, options: object) => PouchDatabase & { destroy(): Promise<unknown> };
const MemoryPouch = (PouchDB as unknown as { plugin(p: unknown): unknown }).plugin(memoryAdapter);
(MemoryPouch as { plugin(p: unknown): unknown }).plugin(mapreduce);

/** A real in-memory PouchDB database the test owns (so several adapters can share it). */
export function memoryPouch() {
  return new (MemoryPouch as Constructor)(`test-${randomUUID()}`, { adapter: "memory" });
}

/** The same database, counting calls per method: to check how many round trips an operation costs. */
export function countingPouch(db: PouchDatabase): { db: PouchDatabase; calls: Record<string, number> } {
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
