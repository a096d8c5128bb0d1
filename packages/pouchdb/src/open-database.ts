import { randomUUID } from "node:crypto";
import { configError } from "@sessionkit/core";
import httpAdapter from "pouchdb-adapter-http";
import memoryAdapter from "pouchdb-adapter-memory";
import PouchDB from "pouchdb-core";
import mapreduce from "pouchdb-mapreduce";
import type { ResolvedPouchdbOptions } from "./options.js";
import { withRealErrors } from "./pouch-errors.js";
import type { PouchDatabase } from "./pouch-types.js";

/** What `pouchdbAdapter` accepts as its target. */
export type PouchdbTarget = PouchDatabase | string | undefined;

/** A database ready to use, and how to let go of it. */
export interface OpenedDatabase {
  db: PouchDatabase;
  /** The same database unwrapped (it may reject with plain objects): for hot paths that convert errors themselves. */
  instance: PouchDatabase;
  /** "memory" or "http" for the databases we create; the instance's adapter name otherwise. */
  kind: string;
  /** Where the database lives, without credentials (for messages). */
  label: string;
  /** True for a URL target: `init()` checks the database exists or creates it. */
  remote: boolean;
  /** Closes (or, for our in-memory database, frees) what we created; a no-op for the user's instance. */
  release(): Promise<void>;
}

type FetchInit = { signal?: AbortSignal } & Record<string, unknown>;

interface PouchConstructor {
  new (name: string, options?: Record<string, unknown>): PouchDatabase;
  plugin(plugin: unknown): PouchConstructor;
  fetch(url: string, init?: FetchInit): Promise<unknown>;
}

let pouchWithPlugins: PouchConstructor | undefined;

/** pouchdb-core with the memory and HTTP adapters and map/reduce, built on first use. */
function pouchConstructor(): PouchConstructor {
  pouchWithPlugins ??= (PouchDB as unknown as PouchConstructor)
    .plugin(memoryAdapter)
    .plugin(httpAdapter)
    .plugin(mapreduce);
  return pouchWithPlugins;
}

const REQUIRED_METHODS = ["get", "put", "bulkDocs", "query", "info"] as const;

function isPouchDatabase(value: object): value is PouchDatabase {
  return REQUIRED_METHODS.every((method) => typeof (value as Record<string, unknown>)[method] === "function");
}

/** The URL without user name and password. */
export function safeUrl(url: URL): string {
  const copy = new URL(url.href);
  copy.username = "";
  copy.password = "";
  return copy.href;
}

/** Resolves the target; throws ERR_SESSION_CONFIG for one it cannot use. */
export function openDatabase(target: unknown, options: ResolvedPouchdbOptions): OpenedDatabase {
  if (target === undefined || target === null) return openMemory();
  if (typeof target === "string") return openUrl(target, options);
  if (typeof target === "object" && isPouchDatabase(target)) {
    return {
      db: withRealErrors(target),
      instance: target,
      kind: typeof target.adapter === "string" ? target.adapter : "instance",
      label: "the PouchDB instance passed in",
      remote: false,
      release: async () => {}, // never close what the user made
    };
  }
  throw configError(
    "target",
    `must be a PouchDB database with the map/reduce plugin (get, put, bulkDocs, query, info), an http(s) URL, or undefined for an in-memory database`,
  );
}

function openMemory(): OpenedDatabase {
  const Pouch = pouchConstructor();
  // A unique name: two in-memory adapters never share data.
  const instance = new Pouch(`sessionkit-${randomUUID()}`, { adapter: "memory" });
  const db = withRealErrors(instance);
  return {
    db,
    instance,
    kind: "memory",
    label: "in-memory database",
    remote: false,
    release: async () => {
      await db.destroy?.();
    },
  };
}

function openUrl(target: string, options: ResolvedPouchdbOptions): OpenedDatabase {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw configError("target", "is not a valid URL (expected e.g. http://127.0.0.1:5984/sessions)");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw configError("target", `must be an http or https URL (got ${url.protocol})`);
  }
  if (url.pathname.replace(/\/+$/, "") === "") {
    throw configError("target", `must name a database in its path, e.g. ${url.origin}/sessions`);
  }
  const Pouch = pouchConstructor();
  const instance = new Pouch(url.href, {
    adapter: "http",
    // Without setup PouchDB never creates the database; init() reports it missing.
    skip_setup: !options.createDatabase,
    fetch: timedFetch(Pouch, options.requestTimeout),
  });
  const db = withRealErrors(instance);
  return {
    db,
    instance,
    kind: "http",
    label: safeUrl(url),
    remote: true,
    release: async () => {
      await db.close?.();
    },
  };
}

/** PouchDB's fetch with a deadline, so a server that stops answering gives an error, not a hang. */
function timedFetch(Pouch: PouchConstructor, timeoutMs: number) {
  return async (url: string, init: FetchInit = {}) => {
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    try {
      return await Pouch.fetch(url, { ...init, signal });
    } catch (error) {
      if (deadline.aborted) throw new Error(`request timed out after ${timeoutMs} ms`, { cause: error });
      throw error;
    }
  };
}
