import { createStore, type SessionkitStore } from "@sessionkit/core";
import type { Logger } from "pino";
import { createApp, sessionOwner } from "./app.js";
import { openBackend } from "./backends.js";
import type { AppConfig } from "./config.js";
import { describeError } from "./errors.js";
import { loadSecret } from "./secret.js";
import { type Listening, listen } from "./server.js";

/** The demo app, listening. */
export interface RunningDemo {
  url: string;
  store: SessionkitStore;
  /** What it runs on, for people (no passwords). */
  label: string;
  /**
   * Graceful stop: stop accepting, let requests finish, `store.close()`, then close the
   * database client created for it. Idempotent.
   */
  close(): Promise<void>;
}

/** A database that can't be reached or prepared at start. */
export class StartupError extends Error {
  override name = "StartupError";
}

const STARTUP_TIMEOUT_MS = 10_000;

/** Test hooks of `startDemo`. */
export interface StartHooks {
  /** Mounts `GET /slow`, which waits for this promise between loading and changing the session. */
  slowRequestGate?: () => Promise<void>;
  /** The store's clock (epoch ms), so a test moves time instead of waiting. Default: `Date.now`. */
  now?: () => number;
}

/** Opens the backend, checks the database answers, and serves the app on `config.port`. */
export async function startDemo(config: AppConfig, logger: Logger, hooks: StartHooks = {}): Promise<RunningDemo> {
  const opened = await openBackend(config, logger);
  let store: SessionkitStore | undefined;
  let listening: Listening | undefined;
  try {
    // Prepare the backend before the store exists, so an unreachable database is one clear
    // error here instead of a logged failure per request later.
    const ready = (async () => {
      await opened.connect?.();
      await opened.backend.init();
    })();
    await withTimeout(ready, STARTUP_TIMEOUT_MS).catch((error: unknown) => {
      throw new StartupError(`cannot use ${opened.label}: ${describeError(error)}`, { cause: error });
    });
    const { now, ...appHooks } = hooks;
    store = createStore(opened.backend, { owner: sessionOwner, logger, ...(now ? { now } : {}) });
    const app = createApp({
      store,
      secret: loadSecret(config.secret, config.dataDir),
      maxAgeMs: config.maxAgeMs,
      logger,
      backendLabel: opened.label,
      secureCookie: config.secureCookie,
      trustProxy: config.trustProxy,
      ...appHooks,
    });
    listening = await listen(app, config.port, config.host);
  } catch (error) {
    // Don't let a hung database hold the failure back.
    await withTimeout(
      (async () => {
        // The store closes the backend; without a store, close the backend ourselves.
        if (store) await store.close();
        else await opened.backend.close();
        await opened.closeClient();
      })(),
      2000,
    ).catch(() => {});
    throw error;
  }

  const server = listening;
  const sessionStore = store;
  let closing: Promise<void> | undefined;
  return {
    url: server.url,
    store: sessionStore,
    label: opened.label,
    close() {
      closing ??= (async () => {
        await server.close();
        await sessionStore.close();
        await opened.closeClient();
      })();
      return closing;
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
