import type { Dialect } from "./dialect.js";

/** Converts between the core's epoch-ms expiry and what the expiry column holds. */
export interface ExpiryCodec {
  toDb(ms: number): unknown;
  fromDb(value: unknown): number;
  /**
   * The moment `ms` as a bound to compare stored expiries with: `expires > bound` holds exactly
   * when the stored expiry is after `ms` (live), `expires <= bound` exactly when it is not.
   */
  liveAfter(ms: number): unknown;
}

/** Native tables: epoch ms in a BIGINT. pg returns BIGINT as a string, better-sqlite3 may return a bigint. */
const epochMs: ExpiryCodec = {
  toDb: (ms) => ms,
  fromDb: (value) => Number(value),
  liveAfter: (ms) => ms,
};

/** "YYYY-MM-DD HH:MM:SS" in UTC, the way connect-session-knex writes MySQL DATETIMEs. */
function mysqlUtc(ms: number): string {
  // Rounded up to the second (the column has no fraction): a session lives a little longer, never shorter.
  return mysqlSecond(Math.ceil(ms / 1000) * 1000);
}

function mysqlSecond(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

function parseTime(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === "number" || typeof value === "bigint") return Number(value);
  if (typeof value === "string") {
    // A bare "YYYY-MM-DD HH:MM:SS" is UTC in connect-session-knex tables.
    const ms = Date.parse(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/.test(value) ? `${value.replace(" ", "T")}Z` : value,
    );
    if (!Number.isNaN(ms)) return ms;
  }
  throw new TypeError(`unreadable expiry value in the session table: ${String(value)}`);
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The expiry codec of a table layout. Legacy (connect-session-knex) timestamps: ISO-8601 UTC
 * strings on PostgreSQL and SQLite (as connect-session-knex writes them, so SQLite's text
 * comparison orders them), UTC DATETIME text on MySQL, Date objects for other dialects.
 */
export function expiryCodec(dialect: Dialect, legacy: boolean): ExpiryCodec {
  if (!legacy) return epochMs;
  switch (dialect) {
    case "pg":
    case "sqlite":
      return { toDb: iso, fromDb: parseTime, liveAfter: iso };
    case "mysql":
      // Stored expiries are whole seconds S, and S > ms exactly when S > ms rounded down.
      return { toDb: mysqlUtc, fromDb: parseTime, liveAfter: (ms) => mysqlSecond(Math.floor(ms / 1000) * 1000) };
    case "generic":
      return { toDb: (ms) => new Date(ms), fromDb: parseTime, liveAfter: (ms) => new Date(ms) };
  }
}

/** A text column read back: drivers give strings, binary columns give Buffers, JSON columns may give objects. */
export function textValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (value !== null && typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** An optional text column read back. */
export function optionalText(value: unknown): string | null {
  return value === null || value === undefined ? null : textValue(value);
}
