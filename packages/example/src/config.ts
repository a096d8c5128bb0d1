import { isIP } from "node:net";
import { fileURLToPath } from "node:url";

/** The session backends the demo app can run on (`SESSIONKIT_BACKEND`). */
export const BACKENDS = [
  "sqlite",
  "postgres",
  "mariadb",
  "pouchdb",
  "couchdb",
  "databank-memory",
  "redis",
  "memory",
] as const;

export type BackendName = (typeof BACKENDS)[number];

/** Everything the demo app reads from its environment, checked. */
export interface AppConfig {
  backend: BackendName;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to listen on. */
  host: string;
  /** Folder for the SQLite file, the LevelDB database and the generated cookie secret. */
  dataDir: string;
  /** Session cookie lifetime, milliseconds. */
  maxAgeMs: number;
  /** Cookie signing secret; undefined means "generate one and keep it in dataDir". */
  secret: string | undefined;
  pgUrl: string;
  mysqlUrl: string;
  redisUrl: string;
  /** Key prefix of the redis backend (`redisAdapter`'s `prefix`). */
  redisPrefix: string;
  /** Table of the SQL backends (sqlite, postgres, mariadb). */
  tableName: string;
  /** CouchDB database URL (required for the couchdb backend). */
  couchdbUrl: string | undefined;
  /**
   * The cookie's `Secure` flag: `"auto"` sets it on requests that came over HTTPS (directly, or
   * through a trusted proxy that says so with `X-Forwarded-Proto: https`); `true` always (the
   * cookie is then never sent over plain HTTP); `false` never.
   */
  secureCookie: "auto" | boolean;
  /**
   * Which proxies' `X-Forwarded-*` headers to believe (Express's and Fastify's `trust proxy`):
   * `false`, `true` (any), or a list of addresses, subnets and the names `loopback`,
   * `linklocal`, `uniquelocal`.
   */
  trustProxy: boolean | string[];
}

/** A configuration mistake: `main` prints its message as one line and exits 1. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const DEFAULT_DATA_DIR = fileURLToPath(new URL("../.data/", import.meta.url));

/**
 * Reads and checks the environment:
 * SESSIONKIT_BACKEND (default sqlite), PORT (3000), HOST (127.0.0.1), SESSIONKIT_DATA_DIR
 * (packages/example/.data), SESSIONKIT_MAX_AGE (ms, one day), SESSIONKIT_SECRET,
 * SESSIONKIT_TABLE (sessions), SESSIONKIT_PG_URL, SESSIONKIT_MYSQL_URL, SESSIONKIT_REDIS_URL,
 * SESSIONKIT_REDIS_PREFIX (sess:),
 * SESSIONKIT_COUCHDB_URL, SESSIONKIT_SECURE_COOKIE (auto), SESSIONKIT_TRUST_PROXY (loopback).
 * Throws a ConfigError with a one-line message naming the variable.
 */
export function readConfig(env: NodeJS.ProcessEnv): AppConfig {
  const backend = (env.SESSIONKIT_BACKEND ?? "sqlite").trim() || "sqlite";
  if (backend === "databank-redis") {
    throw new ConfigError(
      'SESSIONKIT_BACKEND="databank-redis" is no longer offered (@sessionkit/databank refuses databank-redis 0.19, whose Redis client ends the process on an outage); use SESSIONKIT_BACKEND=redis',
    );
  }
  if (!(BACKENDS as readonly string[]).includes(backend)) {
    throw new ConfigError(`SESSIONKIT_BACKEND="${backend}" is not a backend; use one of: ${BACKENDS.join(", ")}`);
  }
  const secret = env.SESSIONKIT_SECRET;
  if (secret !== undefined && secret.length < 16) {
    throw new ConfigError("SESSIONKIT_SECRET must be at least 16 characters long");
  }
  const couchdbUrl = env.SESSIONKIT_COUCHDB_URL || undefined;
  if (backend === "couchdb" && !couchdbUrl) {
    throw new ConfigError(
      "SESSIONKIT_BACKEND=couchdb needs SESSIONKIT_COUCHDB_URL, e.g. http://127.0.0.1:5984/sessions",
    );
  }
  return {
    backend: backend as BackendName,
    port: integer(env, "PORT", 3000, 0, 65_535),
    host: env.HOST || "127.0.0.1",
    dataDir: env.SESSIONKIT_DATA_DIR || DEFAULT_DATA_DIR,
    maxAgeMs: integer(env, "SESSIONKIT_MAX_AGE", 86_400_000, 1000, 10 * 365 * 86_400_000),
    secret,
    pgUrl: env.SESSIONKIT_PG_URL || "postgres://postgres@127.0.0.1:5432/test",
    mysqlUrl: env.SESSIONKIT_MYSQL_URL || "mysql://root@127.0.0.1:3306/test",
    redisUrl: env.SESSIONKIT_REDIS_URL || "redis://127.0.0.1:6379",
    redisPrefix: env.SESSIONKIT_REDIS_PREFIX || "sess:",
    tableName: env.SESSIONKIT_TABLE || "sessions",
    couchdbUrl,
    secureCookie: secureCookie(env.SESSIONKIT_SECURE_COOKIE),
    trustProxy: trustProxy(env.SESSIONKIT_TRUST_PROXY),
  };
}

function secureCookie(raw: string | undefined): "auto" | boolean {
  const value = (raw ?? "").trim().toLowerCase();
  if (value === "" || value === "auto") return "auto";
  if (value === "true") return true;
  if (value === "false") return false;
  throw new ConfigError(`SESSIONKIT_SECURE_COOKIE="${raw}" must be auto, true or false`);
}

const PROXY_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

function trustProxy(raw: string | undefined): boolean | string[] {
  const value = (raw ?? "").trim();
  if (value === "") return ["loopback"];
  if (value === "true" || value === "false") return value === "true";
  const entries = value.split(",").map((entry) => entry.trim());
  for (const entry of entries) {
    if (!PROXY_NAMES.has(entry) && !isAddressOrSubnet(entry)) {
      throw new ConfigError(
        `SESSIONKIT_TRUST_PROXY="${raw}": "${entry}" is not an address, a subnet (a.b.c.d/n) or one of loopback, linklocal, uniquelocal (or use true or false)`,
      );
    }
  }
  return entries;
}

function isAddressOrSubnet(entry: string): boolean {
  const [address = "", bits, ...rest] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  if (!/^\d+$/.test(bits)) return family === 4 && isIP(bits) === 4; // a.b.c.d/255.255.0.0
  return Number(bits) <= (family === 4 ? 32 : 128);
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
    throw new ConfigError(`${name}="${raw}" must be a whole number from ${min} to ${max}`);
  }
  return value;
}
