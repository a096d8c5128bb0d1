import { Writable } from "node:stream";
import { memoryBackend, type SessionBackend } from "@sessionkit/core";
import pino from "pino";
import { afterEach, beforeEach, expect } from "vitest";
import { BACKEND_METHODS } from "../src/resolve-options.js";

/**
 * The real reference backend with a call log and switchable failures. The database adapters
 * test real outages against real servers; here the core's reaction to a failing backend is
 * what is under test, so the failure is injected at the boundary.
 */
export function instrumentedBackend(inner: SessionBackend = memoryBackend()) {
  const calls: Array<{ method: string; args: unknown[] }> = [];
  const failing = new Map<string, (args: unknown[]) => unknown>();
  const hanging = new Set<string>();
  const delays = new Map<string, number>();
  const backend: SessionBackend = Object.create(null);
  // stream is an async iterable, not a promise: it gets its own wrapper below.
  for (const method of BACKEND_METHODS.filter((m) => m !== "stream")) {
    (backend as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
      calls.push({ method, args });
      if (hanging.has(method)) return new Promise(() => {}); // a database that accepts and never answers
      const delay = delays.get(method);
      if (delay) await new Promise((r) => setTimeout(r, delay));
      const failure = failing.get(method);
      if (failure) throw failure(args);
      return (inner[method] as (...a: unknown[]) => Promise<unknown>).apply(inner, args);
    };
  }
  (backend as { stream: SessionBackend["stream"] }).stream = (now: number) => {
    calls.push({ method: "stream", args: [now] });
    if (failing.has("stream")) {
      return (async function* () {
        yield* [];
        throw new Error("connection lost during stream");
      })();
    }
    return inner.stream(now);
  };
  Object.defineProperty(backend, "name", { value: "instrumented" });
  Object.defineProperty(backend, "capabilities", { value: inner.capabilities, configurable: true });
  return {
    backend,
    inner,
    calls,
    count: (method: string) => calls.filter((c) => c.method === method).length,
    fail: (...methods: string[]) => {
      for (const m of methods) {
        failing.set(m, () => Object.assign(new Error(`connection lost during ${m}`), { code: "ECONNRESET" }));
      }
    },
    /** Makes `method` reject with what `error` builds from the call's arguments (a driver quoting its input). */
    failWith: (method: string, error: (args: unknown[]) => unknown) => failing.set(method, error),
    heal: () => {
      failing.clear();
      hanging.clear();
    },
    hang: (...methods: string[]) => {
      for (const m of methods) hanging.add(m);
    },
    delay: (method: string, ms: number) => delays.set(method, ms),
  };
}

/** A pino logger at trace level writing JSON lines into an array. */
export function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  const logger = pino({ level: "trace" }, stream);
  return {
    logger,
    lines,
    entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** A session as express-session hands it to a store. */
export function sessionWith(fields: Record<string, unknown> = {}, maxAgeMs = 60_000) {
  return {
    cookie: { originalMaxAge: maxAgeMs, expires: new Date(Date.now() + maxAgeMs), httpOnly: true, path: "/" },
    ...fields,
  };
}

/** A session without cookie expiry: the store's ttl applies. */
export function sessionWithoutExpiry(fields: Record<string, unknown> = {}) {
  return { cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: "/" }, ...fields };
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Registers hooks of the enclosing describe block: during each test, uncaught exceptions and
 * unhandled rejections are collected (a failure thrown at an app, a promise nobody awaits), and
 * after it there must be none.
 */
export function expectNoStrayErrors(): void {
  let stray: unknown[] = [];
  const onStray = (e: unknown) => stray.push(e);
  beforeEach(() => {
    stray = [];
    process.on("unhandledRejection", onStray);
    process.on("uncaughtException", onStray);
  });
  afterEach(async () => {
    // Give stray rejections a few turns of the event loop to surface before counting.
    await new Promise((r) => setTimeout(r, 20));
    process.off("unhandledRejection", onStray);
    process.off("uncaughtException", onStray);
    expect(stray).toEqual([]);
  });
}
