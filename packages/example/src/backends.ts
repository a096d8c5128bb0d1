import { createRequire } from "node:module";
import { join } from "node:path";
import { memoryBackend, type SessionBackend } from "@sessionkit/core";
import type { Knex } from "knex";
import type { Logger } from "pino";
import type { AppConfig, BackendName } from "./config.js";
import { describeError } from "./errors.js";
import { ownedPrivateDir, privateDir, privateFile } from "./files.js";

const require = createRequire(import.meta.url);

/** The files SQLite keeps beside a database in WAL mode (and the rollback journal). */
export const SQLITE_COMPANIONS = ["-wal", "-shm", "-journal"] as const;

/** A backend ready for `createStore`, with what it took to make it. */
export interface OpenedBackend {
  backend: SessionBackend;
  /** For the home page and logs, e.g. "sqlite (/path/sessions.db)". Never contains a password. */
  label: string;
  /** Closes the database client this module created (after `store.close()`). */
  closeClient(): Promise<void>;
  /** Connects the client, where that is a step of its own (before `backend.init()`). */
  connect?(): Promise<void>;
}

/** A backend whose adapter package can't be loaded (not written or not built yet). */
export class BackendUnavailableError extends Error {
  override name = "BackendUnavailableError";
}

/**
 * Creates the database client and the sessionkit backend for `config.backend`. Adapters are
 * imported on demand, so running on SQLite never loads the PostgreSQL driver.
 */
export async function openBackend(config: AppConfig, logger: Logger): Promise<OpenedBackend> {
  switch (config.backend) {
    case "memory":
      return { backend: memoryBackend(), label: "memory (this process)", closeClient: async () => {} };
    case "sqlite": {
      const filename = join(config.dataDir, "sessions.db");
      // Created 0600 before SQLite opens it (SQLite would make it 0644), so its -wal and -shm
      // files, which take its mode, are private too; an existing file's mode is fixed.
      privateFile(filename, SQLITE_COMPANIONS);
      return knexBackend(logger, config, `sqlite (${filename})`, {
        client: "better-sqlite3",
        connection: { filename },
        useNullAsDefault: true,
        // WAL with synchronous=NORMAL, the usual production setting: a write waits for no fsync
        // (a power cut may lose the last moments of sessions, never corrupt the file).
        pool: {
          afterCreate: (conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
            conn.pragma("journal_mode = WAL");
            conn.pragma("synchronous = NORMAL");
            done(null, conn);
          },
        },
      });
    }
    case "postgres":
      return knexBackend(logger, config, `postgres (${withoutPassword(config.pgUrl)})`, {
        client: "pg",
        connection: config.pgUrl,
        pool: { min: 0, max: 10 },
        acquireConnectionTimeout: 5000,
      });
    case "mariadb":
      return knexBackend(logger, config, `mariadb (${withoutPassword(config.mysqlUrl)})`, {
        client: "mysql2",
        connection: config.mysqlUrl,
        pool: { min: 0, max: 10 },
        acquireConnectionTimeout: 5000,
      });
    case "pouchdb": {
      const { pouchdbAdapter } = await loadAdapter(config.backend, () => import("@sessionkit/pouchdb"));
      const path = join(config.dataDir, "pouchdb-sessions");
      // LevelDB creates its files readable by others; inside a 0700 folder nobody else reaches them.
      privateDir(config.dataDir);
      ownedPrivateDir(path);
      const PouchDB = require("pouchdb") as PouchConstructor;
      const db = new PouchDB(path, { adapter: "leveldb" });
      return {
        backend: pouchdbAdapter(db),
        label: `pouchdb on LevelDB (${path})`,
        closeClient: async () => {
          await db.close();
        },
      };
    }
    case "couchdb": {
      const { pouchdbAdapter } = await loadAdapter(config.backend, () => import("@sessionkit/pouchdb"));
      const url = config.couchdbUrl as string; // checked by readConfig
      // The adapter made this HTTP client from the URL, so the adapter closes it.
      return { backend: pouchdbAdapter(url), label: `couchdb (${withoutPassword(url)})`, closeClient: async () => {} };
    }
    case "databank-memory": {
      const { databankAdapter } = await loadAdapter(config.backend, () => import("@sessionkit/databank"));
      return {
        backend: databankAdapter({ driver: "memory" }),
        label: "databank memory driver (this process)",
        closeClient: async () => {},
      };
    }
    case "redis":
      return redisBackend(config, logger);
  }
}

/** node-redis 5 (`SESSIONKIT_REDIS_URL`, a `/N` path picks database N) under `redisAdapter`. */
async function redisBackend(config: AppConfig, logger: Logger): Promise<OpenedBackend> {
  const { redisAdapter } = await loadAdapter(config.backend, () => import("@sessionkit/redis"));
  const { createClient } = await import("redis");
  const log = logger.child({ component: "redis" });
  let connected = false;
  const client = createClient({
    url: config.redisUrl,
    socket: {
      connectTimeout: 5000,
      // At start, a refused connection is one clear error; once connected, reconnect with a capped backoff.
      reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(50 * 2 ** retries, 5000) : cause),
    },
  });
  // node-redis emits connection errors as events (an unheard one would crash the process);
  // commands under way fail on their own and reach the store.
  client.on("error", (error: unknown) => {
    if (connected) log.warn(`redis connection: ${describeError(error)}`);
  });
  return {
    backend: redisAdapter(client, { prefix: config.redisPrefix }),
    label: `redis (${withoutPassword(config.redisUrl)})`,
    async connect() {
      await client.connect();
      connected = true;
    },
    async closeClient() {
      connected = false;
      if (client.isOpen) await client.close();
    },
  };
}

interface PouchConstructor {
  new (
    name: string,
    options?: Record<string, unknown>,
  ): import("@sessionkit/pouchdb").PouchDatabase & {
    close(): Promise<unknown>;
  };
}

async function knexBackend(logger: Logger, app: AppConfig, label: string, config: Knex.Config): Promise<OpenedBackend> {
  const { knexAdapter } = await loadAdapter(app.backend, () => import("@sessionkit/knex"));
  const { default: knex } = await import("knex");
  // knex prints its warnings (with stacks) on the console; they belong in the app's log, one line each.
  const log = logger.child({ component: "knex" });
  const db = knex({
    ...config,
    log: {
      warn: (message: unknown) => log.warn(firstLine(message)),
      error: (message: unknown) => log.error(firstLine(message)),
      deprecate: (method: string, alternative: string) => log.warn(`${method} is deprecated, use ${alternative}`),
      debug: (message: unknown) => log.debug({ message }, "knex debug"),
    },
  });
  let backend: SessionBackend;
  try {
    backend = knexAdapter(db, { tableName: app.tableName });
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return { backend, label, closeClient: () => db.destroy() };
}

/** Imports an adapter package, turning "it isn't there" into a clear error. */
export async function loadAdapter<T>(name: BackendName, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new BackendUnavailableError(`backend ${name} is not available yet: ${(error as Error).message}`);
    }
    throw error;
  }
}

/** A URL for display: the password replaced. */
export function withoutPassword(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = "***";
    return url.href;
  } catch {
    return "(unparseable URL)";
  }
}

function firstLine(message: unknown): string {
  return String(message).split("\n", 1)[0] ?? "";
}
