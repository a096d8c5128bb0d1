import {
  type BackendCapabilities,
  createStore,
  type SessionBackend,
  type SessionkitStore,
  type StoreOptions,
} from "@sessionkit/core";
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { startTestApp } from "./apps.js";
import { TestClock } from "./clock.js";
import { Gates } from "./gates.js";
import type { Browser } from "./http-client.js";
import { captureLogs, type LogLine } from "./logs.js";
import type { ConformanceOptions } from "./options.js";
import type { Framework, TestApp } from "./test-app.js";

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
/** The store's `ttl`, for sessions whose cookie has no expiry (the routes' default). */
export const TTL_MS = HOUR;
/** The cookie lifetime of sessions that have one (`/count?maxAge=`). */
export const COOKIE_MAX_AGE_MS = 30 * MINUTE;
/** The store's `maxLifetime`, on backends that store creation times; longer than any other scenario. */
export const MAX_LIFETIME_MS = 8 * HOUR;
/**
 * How far a stored moment may be from the one the store computed: a layout may keep whole
 * seconds (a legacy `DATETIME` or epoch-seconds column). Scenarios keep a minute between moments
 * they tell apart.
 */
export const PRECISION_MS = 1000;

/** A request held at a gate after it loaded its session. */
export interface InFlight {
  /** Releases it and resolves with its response. */
  finish(): Promise<{ status: number; body: Record<string, unknown> }>;
}

/** What a scenario works with: one store, over one backend from the factory, behind one app. */
export interface Harness {
  readonly framework: Framework;
  readonly touchAfterMs: number;
  readonly options: ConformanceOptions;
  store: SessionkitStore;
  app: TestApp;
  caps: BackendCapabilities;
  readonly clock: TestClock;
  /** Everything the store logged (pino, level info and up), since it started. */
  readonly logs: LogLine[];
  /** Whether the backend stores owners (the store then has the `owner` option). */
  readonly owners: boolean;
  /** Whether the backend keeps tombstones (a logout is final). */
  readonly tombstones: boolean;
  /** The slow requests of the current test, settled before the next one starts. */
  readonly inFlight: Promise<unknown>[];
}

/**
 * Registers the hooks of one describe block: a store over a fresh backend from the factory
 * (`ttl` one hour, the given `touchAfter`, `maxLifetime` 8 h where the backend stores creation
 * times, owners from `session.user`, no background GC, the test's clock, a capturing logger),
 * behind one app of the framework, started once. Before each test the clock restarts at the real
 * time and the store is cleared; after each, every gate is released and the store must not have
 * emitted an `error` event.
 */
export function useHarness(
  factory: () => SessionBackend | Promise<SessionBackend>,
  options: ConformanceOptions,
  framework: Framework,
  touchAfterSeconds: number,
): Harness {
  const { logger, lines } = captureLogs();
  const errors: unknown[] = [];
  const gates = new Gates();
  const h = {
    inFlight: [] as Promise<unknown>[],
    framework,
    touchAfterMs: touchAfterSeconds * 1000,
    options,
    clock: new TestClock(),
    logs: lines,
    owners: options.owners !== false,
    tombstones: options.tombstones !== false,
  } as Harness;

  beforeAll(async () => {
    const backend = await factory();
    h.caps = backend.capabilities ?? {};
    const storeOptions: StoreOptions<{ user?: string }> = {
      ttl: TTL_MS / 1000,
      touchAfter: touchAfterSeconds,
      gcInterval: 0, // expiry must hold without any garbage collection
      now: h.clock.now,
      logger,
      ...(h.owners ? { owner: (s) => s.user } : {}),
      ...(h.caps.createdAt ? { maxLifetime: MAX_LIFETIME_MS / 1000 } : {}),
    };
    try {
      h.store = createStore(backend, storeOptions) as SessionkitStore;
    } catch (error) {
      await backend.close(); // e.g. options that contradict what the backend declares
      throw error;
    }
    h.store.on("error", (error: unknown) => errors.push(error));
    await h.store.length(); // the backend is ready and the store has said what it had to say at start
    h.app = await startTestApp(framework, h.store, gates);
  });
  beforeEach(async () => {
    h.clock.reset();
    await h.store.clear();
  });
  afterEach(async () => {
    gates.releaseAll();
    await Promise.allSettled(h.inFlight.splice(0));
    const emitted = errors.splice(0);
    expect(emitted, "the store emitted error events").toEqual([]);
  });
  afterAll(async () => {
    gates.releaseAll();
    await Promise.allSettled(h.inFlight.splice(0));
    await h.app?.close();
    await h.store?.close();
  });
  return h;
}

/** A new browser that logged in as `user` (a regenerated session holding the user). */
export async function login(h: Harness, user: string): Promise<Browser & { sessionId: string }> {
  const browser = h.app.browser();
  const response = await browser.request("POST", `/login/${user}`);
  expect(response.status).toBe(200);
  expect(response.body).toMatchObject({ user, id: browser.sessionId });
  return browser as Browser & { sessionId: string };
}

/**
 * Starts a request on `path` (`/slow` or `/resave/slow`) from `browser` and resolves once it has
 * loaded its session and waits at its gate. With `change`, it changes the session when released.
 */
export async function startSlow(h: Harness, browser: Browser, path: string, change: boolean): Promise<InFlight> {
  const gate = h.app.gates.create();
  const response = browser.request("POST", `${path}/${gate.name}${change ? "?change=1" : ""}`);
  const early = response.then((r) => {
    throw new Error(`the slow request answered ${r.status} before reaching its gate: ${JSON.stringify(r.body)}`);
  });
  early.catch(() => {}); // reported through the race below when it comes first
  h.inFlight.push(response);
  await Promise.race([gate.loaded, early]);
  return {
    finish: () => {
      gate.release();
      return response;
    },
  };
}

/**
 * The cookie `saved` holds (of session `sid`) is logged out for good: replayed, it gets a fresh
 * session without a user, on a read and on a write, and the store has nothing under `sid`.
 */
export async function expectLoggedOut(h: Harness, saved: Browser, sid: string): Promise<void> {
  for (const [method, path] of [
    ["GET", "/peek"],
    ["GET", "/count"],
  ] as const) {
    const replay = saved.fork();
    const response = await replay.request(method, path);
    expect(response.status).toBe(200);
    expect(response.body.user).toBeNull();
    expect(response.body.id).not.toBe(sid);
  }
  expect(await h.store.get(sid)).toBeNull();
}

/** `actual` (epoch ms, or a Date) is the moment `expected`, to the backend's precision. */
export function expectMoment(actual: number | Date | null | undefined, expected: number): void {
  const ms = actual instanceof Date ? actual.getTime() : actual;
  expect(typeof ms, `expected a moment near ${new Date(expected).toISOString()}`).toBe("number");
  expect(Math.abs((ms as number) - expected)).toBeLessThanOrEqual(PRECISION_MS);
}
