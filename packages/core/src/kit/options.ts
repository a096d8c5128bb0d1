import { configError } from "../errors.js";

/**
 * One option's check: returns the value to use (the default when the option is absent) or
 * throws the problem as a sentence fragment ("must be ..., got ...").
 */
export type OptionRule<T> = (value: unknown) => T;

/** The resolved options of a rule set: each key typed by what its rule returns. */
export type ResolvedOptionsOf<R extends Record<string, OptionRule<unknown>>> = { [K in keyof R]: ReturnType<R[K]> };

class Problem extends Error {}

/** Fails a rule: `problem` completes "option "x" of <where> ...". */
export function reject(problem: string): never {
  throw new Problem(problem);
}

/** A short, safe rendering of a bad value for a message (strings quoted and cut, objects named). */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "function") return "a function";
  return String(value);
}

const got = (value: unknown) => `, got ${describeValue(value)}`;

/**
 * Validates `input` against `rules` and fills in defaults. Unknown keys are refused (a typo never
 * passes silently) and every message names the option and where it belongs, the same way for
 * the core and every adapter: `sessionkit: option "ttl" of createStore must be ... , got ...`.
 *
 * @throws SessionStoreError `ERR_SESSION_CONFIG`
 */
export function readOptions<R extends Record<string, OptionRule<unknown>>>(
  where: string,
  input: unknown,
  rules: R,
): ResolvedOptionsOf<R> {
  if (input === undefined || input === null) input = {};
  if (typeof input !== "object" || Array.isArray(input)) {
    throw configError("options", `of ${where} must be an object${got(input)}`);
  }
  const given = input as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(rules, key)) {
      const known = Object.keys(rules).join(", ");
      throw configError(key, `is not an option of ${where} (known: ${known})`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, rule] of Object.entries(rules)) {
    try {
      out[key] = rule(given[key]);
    } catch (error) {
      if (error instanceof Problem) throw configError(key, `of ${where} ${error.message}`);
      throw error;
    }
  }
  return out as ResolvedOptionsOf<R>;
}

/** Rules for `readOptions`. Each takes its default; `undefined` as default makes the option optional. */
export const rules = {
  /** An integer in [min, max]. */
  integer<D extends number | undefined>(
    fallback: D,
    { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
  ): OptionRule<number | D> {
    return (value) => {
      if (value === undefined) return fallback;
      if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
        reject(`must be an integer from ${min} to ${max}${got(value)}`);
      }
      return value as number;
    };
  },

  /** A finite number in (or, with `exclusiveMin`, above) [min, max]. */
  number<D extends number | undefined>(
    fallback: D,
    {
      min = -Infinity,
      max = Infinity,
      exclusiveMin = false,
    }: { min?: number; max?: number; exclusiveMin?: boolean } = {},
  ): OptionRule<number | D> {
    return (value) => {
      if (value === undefined) return fallback;
      const ok =
        typeof value === "number" &&
        Number.isFinite(value) &&
        (exclusiveMin ? value > min : value >= min) &&
        value <= max;
      if (!ok) {
        const low = exclusiveMin ? `above ${min}` : `at least ${min}`;
        reject(`must be a number ${low}${max === Infinity ? "" : ` and at most ${max}`}${got(value)}`);
      }
      return value as number;
    };
  },

  boolean<D extends boolean | undefined>(fallback: D): OptionRule<boolean | D> {
    return (value) => {
      if (value === undefined) return fallback;
      if (typeof value !== "boolean") reject(`must be true or false${got(value)}`);
      return value;
    };
  },

  /** A string matching `pattern` (described in words by `shape`). */
  string<D extends string | undefined>(
    fallback: D,
    { pattern, shape }: { pattern?: RegExp; shape?: string } = {},
  ): OptionRule<string | D> {
    return (value) => {
      if (value === undefined) return fallback;
      if (typeof value !== "string" || (pattern && !pattern.test(value))) {
        reject(`must be ${shape ?? "a string"}${got(value)}`);
      }
      return value;
    };
  },

  /** One of the listed values. */
  oneOf<const V extends string | number | boolean, D extends V | undefined>(
    values: readonly V[],
    fallback: D,
  ): OptionRule<V | D> {
    return (value) => {
      if (value === undefined) return fallback;
      if (!values.includes(value as V))
        reject(`must be one of ${values.map((v) => JSON.stringify(v)).join(", ")}${got(value)}`);
      return value as V;
    };
  },

  /** A function (the default may be undefined: then the option is optional). */
  func<F extends (...args: never[]) => unknown>(): OptionRule<F | undefined> {
    return (value) => {
      if (value !== undefined && typeof value !== "function") reject(`must be a function${got(value)}`);
      return value as F | undefined;
    };
  },

  /** Any value the caller checks itself (objects with their own rules). */
  any<T>(check: (value: unknown) => T): OptionRule<T> {
    return check;
  },
};
