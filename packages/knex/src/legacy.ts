import { configError } from "@sessionkit/core/kit";
import { idLimit, type Layout, MAX_PAYLOAD, quote, statements } from "./layout.js";
import type { Flavor } from "./runners.js";

/**
 * Other stores' tables, read and written in place, so an app can move to sessionkit (and back)
 * without logging anyone out. None of them has room for owners, creation times or tombstones that
 * the other store would still read correctly: each declares them unsupported (see the README).
 */
export const LEGACY = ["connect-session-knex", "connect-pg-simple", "express-mysql-session"] as const;
export type LegacyName = (typeof LEGACY)[number];

/** The default table of each store. */
export const legacyTable = (name: LegacyName) => (name === "connect-pg-simple" ? "session" : "sessions");

const parseTime = (value: unknown): number => {
  if (typeof value === "number") return value;
  if (value instanceof Date) return value.getTime();
  // A bare "YYYY-MM-DD HH:MM:SS" is UTC: connect-session-knex writes MySQL DATETIMEs that way.
  const s = String(value);
  const ms = Date.parse(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/.test(s) ? `${s.replace(" ", "T")}Z` : s);
  if (Number.isNaN(ms)) throw new TypeError("unreadable expiry in the session table");
  return ms;
};
const iso = (ms: number) => new Date(ms).toISOString();
const utcSecond = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 19).replace("T", " ");

const NO_EXTRAS = { owners: false, tombstones: false, createdAt: false } as const;

export interface LegacyOptions {
  /** express-mysql-session: let init() add an index on expires. */
  indexExpires: boolean;
}

export function legacyLayout(
  name: LegacyName,
  flavor: Flavor,
  table: string,
  tableName: string,
  options: LegacyOptions,
): Layout {
  const q = (column: string) => quote(flavor, column);
  const needs = (wanted: Flavor, what: string) => {
    if (flavor !== wanted) throw configError("legacy", `"${name}" is a ${what} layout; this client is ${flavor}`);
  };
  if (name === "connect-pg-simple") {
    // timestamp(6) without time zone, written and compared in the database session's TimeZone:
    // to_timestamp() and a cast to timestamptz convert in that same zone, whatever it is.
    needs("pg", "PostgreSQL");
    return {
      legacy: name,
      flavor,
      table,
      columns: ["sid", "sess", "expire"],
      capabilities: { ...NO_EXTRAS, maxPayloadBytes: MAX_PAYLOAD.pg, idProblem: idLimit(2000) },
      create: (t) => [
        `create table if not exists ${t} ("sid" varchar not null collate "default", "sess" json not null, "expire" timestamp(6) not null, constraint ${q(`${tableName}_pkey`)} primary key ("sid"))`,
        `create index if not exists ${q(`IDX_${tableName}_expire`)} on ${t} ("expire")`,
      ],
      toDb: (ms) => ms,
      bound: (ms) => ms,
      fromDb: Number,
      sql: statements({
        flavor,
        table,
        sid: '"sid"',
        data: '"sess"',
        expires: '"expire"',
        expiresIn: "to_timestamp(?::float8 / 1000)",
        expiresOut: `round(extract(epoch from "expire"::timestamptz) * 1000)`,
        payloadOut: `"sess"::text`,
        own: false,
      }),
    };
  }
  if (name === "express-mysql-session") {
    // Epoch seconds in an unsigned INT; ids varchar(128) utf8mb4_bin, which ignores trailing spaces.
    needs("mysql", "MySQL/MariaDB");
    const index = `key ${q(`${tableName}_expires_idx`)} (expires)`;
    return {
      legacy: name,
      flavor,
      table,
      columns: ["session_id", "expires", "data"],
      capabilities: {
        ...NO_EXTRAS,
        maxPayloadBytes: MAX_PAYLOAD.mysql,
        idProblem: (id) =>
          id.endsWith(" ") ? "ends with a space, which this table's collation ignores" : idLimit(128, "characters")(id),
      },
      create: (t) => [
        `create table if not exists ${t} (session_id varchar(128) collate utf8mb4_bin not null, expires int(11) unsigned not null, data mediumtext collate utf8mb4_bin, primary key (session_id)${options.indexExpires ? `, ${index}` : ""}) engine=InnoDB`,
      ],
      ...(options.indexExpires
        ? { upgrade: () => [`alter table ${table} add ${index.replace("key", "key if not exists")}`] }
        : {}),
      toDb: (ms) => Math.ceil(ms / 1000),
      bound: (ms) => Math.floor(ms / 1000),
      fromDb: (value) => Number(value) * 1000,
      sql: statements({
        flavor,
        table,
        sid: "session_id",
        data: "data",
        expires: "expires",
        expiresIn: "?",
        expiresOut: "expires",
        payloadOut: "data",
        own: false,
        expiresIndexed: options.indexExpires,
      }),
    };
  }
  // connect-session-knex 5: sid varchar(255), sess json, expired timestamptz (PostgreSQL), UTC
  // DATETIME (MySQL, whole seconds) or ISO-8601 UTC text (SQLite).
  const index = q(`${tableName}_expired_index`);
  const create = {
    pg: (t: string) => [
      `create table if not exists ${t} (sid varchar(255) primary key, sess json not null, expired timestamptz not null)`,
      `create index if not exists ${index} on ${t} (expired)`,
    ],
    mysql: (t: string) => [
      `create table if not exists ${t} (sid varchar(255) not null primary key, sess json not null, expired datetime not null, key ${index} (expired))`,
    ],
    sqlite: (t: string) => [
      `create table if not exists ${t} (sid varchar(255) not null primary key, sess json not null, expired datetime not null)`,
      `create index if not exists ${index} on ${t} (expired)`,
    ],
  }[flavor];
  const mysql = flavor === "mysql";
  return {
    legacy: name,
    flavor,
    table,
    columns: ["sid", "sess", "expired"],
    capabilities: {
      ...NO_EXTRAS,
      maxPayloadBytes: MAX_PAYLOAD[flavor],
      ...(flavor === "sqlite" ? {} : { idProblem: idLimit(255, "characters") }),
    },
    create,
    // MySQL keeps whole seconds: written rounded up, and S > now exactly when S > now rounded down.
    toDb: mysql ? (ms) => utcSecond(Math.ceil(ms / 1000)) : iso,
    bound: mysql ? (ms) => utcSecond(Math.floor(ms / 1000)) : iso,
    fromDb: parseTime,
    sql: statements({
      flavor,
      table,
      sid: "sid",
      data: "sess",
      expires: "expired",
      expiresIn: "?",
      expiresOut: {
        pg: "(extract(epoch from expired) * 1000)::float8",
        mysql: "cast(expired as char)",
        sqlite: "expired",
      }[flavor],
      payloadOut: flavor === "pg" ? "sess::text" : "sess",
      own: false,
    }),
  };
}
