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
/** Settles a call in the driver's callback: an error `expected` accepts is an answer, any other rejects as an Error. */
const settle =
  <R>(expected: (error: unknown) => boolean, then: Then<R>) =>
  (error: unknown, value: unknown) => {
    const ok = error === null || error === undefined;
    if (!ok && !expected(error)) throw driverError(error);
    return then(ok ? value : undefined, ok);
  };
const toRecords = settle(never, (value) => (value ?? {}) as Record<string, unknown>);
const toCreated = settle(isTaken, okay<boolean>);
const toFound = settle(isMissing, okay<boolean>);
const toNothing = settle(never, nothing);
const toNumber = settle(never, Number);

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
  /** The open bank; undefined before `init()` and after `close()` (a call then rejects). */
  db: DatabankLike | undefined;
  closed = false;

  private open(): DatabankLike {
    if (this.db) return this.db;
    throw new Error(this.closed ? "databank: closed" : "databank: init() has not completed");
  }
  /** The value, or undefined when the key is missing. */
  read<R = unknown>(type: string, id: string, then: Then<R> = same) {
    return fromCallback((cb) => this.open().read(type, id, cb), settle(isMissing, then));
  }
  readAll(type: string, ids: string[]): Promise<Record<string, unknown>> {
    if (ids.length === 0) return Promise.resolve({});
    return fromCallback((cb) => this.open().readAll(type, ids, cb), toRecords);
  }
  /** false: the key is taken. */
  create(type: string, id: string, value: unknown) {
    return fromCallback((cb) => this.open().create(type, id, value, cb), toCreated);
  }
  /** false: the key is missing (databank's update never creates). */
  update<R = boolean>(type: string, id: string, value: unknown, then: Then<R> = okay) {
    return fromCallback((cb) => this.open().update(type, id, value, cb), settle(isMissing, then));
  }
  /** false: the key was missing. */
  del(type: string, id: string) {
    return fromCallback((cb) => this.open().del(type, id, cb), toFound);
  }
  save(type: string, id: string, value: unknown) {
    return fromCallback((cb) => this.open().save(type, id, value, cb), toNothing);
  }
  incr(type: string, id: string) {
    return fromCallback((cb) => this.open().incr(type, id, cb), toNumber);
  }
  /** Some drivers report an empty type as missing. */
  scan(type: string, onValue: (value: unknown) => void) {
    return fromCallback((cb) => this.open().scan(type, onValue, cb), settle(isMissing, nothing));
  }
}
