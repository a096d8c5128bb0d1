import { fromCallback } from "@sessionkit/core/kit";
import type { DatabankLike } from "./index.js";

/** Databank's completion callback. */
export type BankCallback<T = unknown> = (error: unknown, value?: T) => void;
type Then<T, R> = (value: T) => R | PromiseLike<R>;

// Databank's errors are told apart by name: every driver brings its own copy of their classes.
const named = (name: string) => (error: unknown) => (error as { name?: unknown } | null)?.name === name;
const isMissing = named("NoSuchThingError");
const isTaken = named("AlreadyExistsError");
const same = <T, R>(value: T) => value as unknown as R;

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

  private call<T, R>(
    start: (cb: BankCallback<T>) => void,
    expected: (error: unknown) => boolean,
    then: (value: T | undefined, ok: boolean) => R | PromiseLike<R>,
  ): Promise<R> {
    return fromCallback<T, R>(start, (error, value) => {
      const ok = error === null || error === undefined;
      if (!ok && !expected(error)) throw driverError(error);
      return then(ok ? value : undefined, ok);
    });
  }

  /** The value, or undefined when the key is missing. */
  read<R = unknown>(type: string, id: string, then: Then<unknown, R> = same) {
    return this.call((cb) => this.db().read(type, id, cb), isMissing, then);
  }
  readAll(type: string, ids: string[]): Promise<Record<string, unknown>> {
    if (ids.length === 0) return Promise.resolve({});
    return this.call(
      (cb) => this.db().readAll(type, ids, cb),
      () => false,
      (v) => (v as Record<string, unknown> | null) ?? {},
    );
  }
  /** false: the key is taken. */
  create<R = boolean>(type: string, id: string, value: unknown, then: Then<boolean, R> = same) {
    return this.call(
      (cb) => this.db().create(type, id, value, cb),
      isTaken,
      (_, ok) => then(ok),
    );
  }
  /** false: the key is missing (databank's update never creates). */
  update<R = boolean>(type: string, id: string, value: unknown, then: Then<boolean, R> = same) {
    return this.call(
      (cb) => this.db().update(type, id, value, cb),
      isMissing,
      (_, ok) => then(ok),
    );
  }
  /** false: the key was missing. */
  del(type: string, id: string) {
    return this.call(
      (cb) => this.db().del(type, id, cb),
      isMissing,
      (_, ok) => ok,
    );
  }
  save(type: string, id: string, value: unknown) {
    return this.call(
      (cb) => this.db().save(type, id, value, cb),
      () => false,
      () => {},
    );
  }
  incr(type: string, id: string) {
    return this.call(
      (cb) => this.db().incr(type, id, cb),
      () => false,
      Number,
    );
  }
  /** Some drivers report an empty type as missing. */
  scan(type: string, onValue: (value: unknown) => void) {
    return this.call(
      (cb) => this.db().scan(type, onValue, cb),
      isMissing,
      () => {},
    );
  }
}
