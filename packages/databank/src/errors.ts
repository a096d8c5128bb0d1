import { fromCallback } from "@sessionkit/core/kit";
import type { DatabankLike } from "./index.js";

/** Databank's completion callback. */
export type BankCallback<T = unknown> = (error: unknown, value?: T) => void;
/** What a call's promise settles with, computed in the driver's callback: `ok` false for a missing (or taken) key. */
type Then<R> = (value: unknown, ok: boolean) => R | PromiseLike<R>;

// Databank's errors are told apart by name: every driver brings its own copy of their classes.
const named = (name: string) => (error: unknown) => (error as { name?: unknown } | null)?.name === name;
const isMissing = named("NoSuchThingError");
const isTaken = named("AlreadyExistsError");
const same = <R>(value: unknown) => value as R;
const okay = <R>(_: unknown, ok: boolean) => ok as R;
const never = () => false;
const nothing = () => {};
type Start = (db: DatabankLike, cb: BankCallback) => void;
const settle =
  <R>(expected: (error: unknown) => boolean, then: Then<R>) =>
  (error: unknown, value: unknown) => {
    const ok = error === null || error === undefined;
    if (!ok && !expected(error)) throw driverError(error);
    return then(ok ? value : undefined, ok);
  };
const orEmpty = (value: unknown) => (value ?? {}) as Record<string, unknown>;

/**
 * A driver failure as an Error with a readable message: a `DatabankError` built around another
 * Error (as drivers wrap their client's errors) gets that Error's message, not "[object Object]".
 */
export function driverError(error: unknown): Error {
  if (error instanceof Error) return error;
  const inner = (error as { message?: unknown } | null)?.message;
  const text = inner instanceof Error ? inner.message : typeof inner === "string" ? inner : String(error);
  const name = (error as { name?: unknown } | null)?.name;
  return Object.assign(new Error(`databank: ${text}`, { cause: error }), { name: String(name ?? "Error") });
}

/**
 * The databank calls the adapter makes, as promises settled once whatever the driver does (see
 * `fromCallback`). `then` runs in the driver's callback: a chain of calls costs one promise per
 * call. A missing key and a taken one are answers (`undefined` or `false`), not failures; any
 * other error rejects as an Error.
 */
export class Bank {
  /** `db` throws while the bank is not open (the call then rejects). */
  constructor(readonly db: () => DatabankLike) {}

  private call<R>(expected: (error: unknown) => boolean, then: Then<R>, start: Start): Promise<R> {
    return fromCallback((cb) => start(this.db(), cb), settle(expected, then));
  }

  /** The value, or undefined when the key is missing. */
  read<R = unknown>(type: string, id: string, then: Then<R> = same) {
    return this.call(isMissing, then, (db, cb) => db.read(type, id, cb));
  }
  readAll(type: string, ids: string[]): Promise<Record<string, unknown>> {
    if (ids.length === 0) return Promise.resolve({});
    return this.call(never, orEmpty, (db, cb) => db.readAll(type, ids, cb));
  }
  /** false: the key is taken. */
  create(type: string, id: string, value: unknown) {
    return this.call(isTaken, okay<boolean>, (db, cb) => db.create(type, id, value, cb));
  }
  /** false: the key is missing (databank's update never creates). */
  update<R = boolean>(type: string, id: string, value: unknown, then: Then<R> = okay) {
    return this.call(isMissing, then, (db, cb) => db.update(type, id, value, cb));
  }
  /** false: the key was missing. */
  del(type: string, id: string) {
    return this.call(isMissing, okay<boolean>, (db, cb) => db.del(type, id, cb));
  }
  save(type: string, id: string, value: unknown) {
    return this.call(never, nothing, (db, cb) => db.save(type, id, value, cb));
  }
  incr(type: string, id: string) {
    return this.call(never, Number, (db, cb) => db.incr(type, id, cb));
  }
  /** Some drivers report an empty type as missing. */
  scan(type: string, onValue: (value: unknown) => void) {
    return this.call(isMissing, nothing, (db, cb) => db.scan(type, onValue, cb));
  }
}
