import type { BackendCapabilities } from "@sessionkit/core/kit";
import type { Flavor } from "./runners.js";

/** Stream page size: bounded memory, no connection held between pages. */
export const PAGE = 500;
/** MySQL's upsert marks a write refused by a live tombstone with LAST_INSERT_ID(REFUSED): the OK packet carries it. */
export const REFUSED = 7;
/**
 * The largest payload each dialect's payload column holds: PostgreSQL text (and json): 1 GB; MySQL
 * MEDIUMTEXT: 16 MiB - 1 (and max_allowed_packet); SQLite: its default string limit.
 */
export const MAX_PAYLOAD: Readonly<Record<Flavor, number>> = {
  pg: 1_000_000_000,
  mysql: 16 * 1024 * 1024 - 1,
  sqlite: 999_000_000,
};
/** The lifetime cap when none is given (far past any expiry): one statement text serves both cases. */
export const NO_CAP = 8_640_000_000_000_000;

/** How one table stores sessions: its columns, its expiry representation, its statements. */
export interface Layout {
  /** The other store whose table this is; undefined for sessionkit's own layout. */
  readonly legacy: string | undefined;
  readonly flavor: Flavor;
  /** The quoted, qualified table name. */
  readonly table: string;
  readonly capabilities: BackendCapabilities;
  /** The columns init() expects, lower case. */
  readonly columns: readonly string[];
  /** Creates the table and its indexes (idempotent statements), under the given quoted name. */
  create(table: string): string[];
  /** Statements bringing an older version of this layout up to date, given the columns found, or undefined when it is. */
  upgrade?(found: ReadonlyMap<string, boolean>): string[] | undefined;
  /** Epoch ms to what the expiry column stores, rounded up where it keeps less than ms. */
  toDb(ms: number): unknown;
  /** `now` as a bound: `expires > bound(now)` exactly when the stored expiry is after now. */
  bound(ms: number): unknown;
  /** The expiry column's value, as selected by `expiresOut`, to epoch ms. */
  fromDb(value: unknown): number;
  readonly sql: Statements;
}

/** A DELETE of at most `limit` rows expired at `bound`, and its parameters. */
export interface BoundedDelete {
  sql: string;
  params: (bound: unknown, limit: number) => unknown[];
}

/** The statements of one layout, `?` placeholders. Own-layout-only ones are undefined for legacy tables. */
export interface Statements {
  get: string;
  upsert: string;
  touch: string;
  destroy: string;
  tombstone?: string;
  destroyByOwner?: string;
  tombstoneByOwner?: string;
  listByOwner?: string;
  clear: string;
  count: string;
  page: string;
  /**
   * One bounded DELETE of expired rows (and passed tombstones), and its parameters. With `byKey`
   * (MySQL, over an expiry index): what runs instead when EXPLAIN plans `sql` as a scan of the
   * whole table.
   */
  expired: BoundedDelete & { byKey?: BoundedDelete };
}

/** Quotes an identifier already checked to be [A-Za-z_][A-Za-z0-9_]*. */
export const quote = (flavor: Flavor, name: string) => (flavor === "mysql" ? `\`${name}\`` : `"${name}"`);

export interface StatementSpec {
  flavor: Flavor;
  table: string;
  /** Quoted column names. */
  sid: string;
  data: string;
  expires: string;
  /** SQL of a bound expiry parameter (`?`, or a conversion around it). */
  expiresIn: string;
  /** SQL reading the expiry column (for `fromDb`). */
  expiresOut: string;
  /** SQL reading the payload as text. */
  payloadOut: string;
  /** sessionkit's own layout: owner, created, active and tombstones (a NULL payload). */
  own: boolean;
  /** Whether the table has an index on the expiry column. Default: true. */
  expiresIndexed?: boolean;
}

/** Every statement of a layout, written once per dialect. */
export function statements(s: StatementSpec): Statements {
  const { flavor, table: t, sid, data, expires: exp, expiresIn: ein } = s;
  const least = flavor === "sqlite" ? "min" : "least";
  const values = `${s.payloadOut} as p, ${s.expiresOut} as e${s.own ? ", owner as o, created as c, active as a" : ""}`;
  const live = `${s.own ? `${data} is not null and ` : ""}${exp} > ${ein}`;
  const common = {
    get: `select ${values} from ${t} where ${sid} = ?${s.own ? ` and ${data} is not null` : ""}`,
    destroy: `delete from ${t} where ${sid} = ?`,
    clear: `delete from ${t}`,
    count: `select count(*) as n from ${t} where ${live}`,
    page: `select ${sid} as s, ${values} from ${t} where ${live} and ${sid} > ? order by ${sid} limit ${PAGE}`,
    expired: expiredStatement(s),
  };
  if (!s.own) {
    const insert = `insert into ${t} (${sid}, ${data}, ${exp}) values (?, ?, ${ein})`;
    return {
      ...common,
      upsert:
        flavor === "mysql"
          ? `${insert} on duplicate key update ${data} = values(${data}), ${exp} = values(${exp})`
          : `${insert} on conflict (${sid}) do update set ${data} = excluded.${data}, ${exp} = excluded.${exp}`,
      touch: `update ${t} set ${exp} = ${ein} where ${sid} = ? and ${exp} > ${ein}`,
    };
  }
  const columns = `${sid}, ${data}, ${exp}, owner, created, active`;
  const insert = `insert into ${t}${flavor === "mysql" ? "" : " as cur"} (${columns}) values (?, ?, ?, ?, ?, ?)`;
  // A write never replaces a live tombstone: not (a NULL payload expiring after the write's now).
  const writable = (row: string) => `${row}${data} is not null or ${row}${exp} <= ?`;
  // A kept createdAt: the stored one (null in rows written by sessionkit 0.1), a new one over a passed tombstone.
  const kept = `case when cur.${data} is null then excluded.created else coalesce(cur.created, excluded.created) end`;
  return {
    ...common,
    // [id, payload, expires (capped from now), owner, now, now, cap, now]; MySQL: [id, payload, expires, owner, now, now, now x5, cap]
    upsert:
      flavor === "mysql"
        ? // MySQL assigns left to right, each later assignment seeing the earlier new values: created,
          // owner and active first, judged on the old row; then data, which keeps the condition's
          // value (a row that may be written gets a payload); expires last, capped from the new created.
          `${insert} on duplicate key update created = if(${data} is not null, coalesce(created, values(created)), if(${exp} <= ?, values(created), if(last_insert_id(${REFUSED}), created, created))), ` +
          ["owner", "active", data].map((c) => `${c} = if(${writable("")}, values(${c}), ${c})`).join(", ") +
          `, ${exp} = if(${writable("")}, least(values(${exp}), created + ?), ${exp})`
        : `${insert} on conflict (${sid}) do update set ${data} = excluded.${data}, owner = excluded.owner, active = excluded.active, created = ${kept}, ${exp} = ${least}(excluded.${exp}, ${kept} + ?) where ${writable("cur.")}`,
    // [now, expires, now, cap, now, id, now]: created is filled in for a 0.1 row, and the cap applies from it.
    touch: `update ${t} set created = coalesce(created, ?), ${exp} = ${least}(?, coalesce(created, ?) + ?), active = ? where ${sid} = ? and ${live}`,
    // [until, now, now, id]: only a stored record (live or expired) becomes a tombstone; a missing id stays missing.
    tombstone: `update ${t} set ${data} = null, ${exp} = ?, owner = null, created = ?, active = ? where ${sid} = ?`,
    // [owner, except]; [until, now, now, owner, except]
    destroyByOwner: `delete from ${t} where owner = ? and ${sid} <> ? and ${data} is not null`,
    tombstoneByOwner: `update ${t} set ${data} = null, ${exp} = ?, owner = null, created = ?, active = ? where owner = ? and ${sid} <> ? and ${data} is not null`,
    listByOwner: `select ${sid} as s, ${values} from ${t} where owner = ? and ${live}`,
  };
}

/** One bounded DELETE of expired rows, per dialect. */
function expiredStatement(s: StatementSpec): Statements["expired"] {
  const { flavor, table: t, sid, expires: exp, expiresIn: ein } = s;
  const boundAndLimit = (bound: unknown, limit: number) => [bound, limit];
  if (flavor === "pg")
    // The ctids of at most `limit` expired rows, then the DELETE fetches exactly those (a row
    // updated meanwhile has moved: a session touched since stays). No ORDER BY: walking the
    // expiry index in order reads the heap at random; the planner picks that index anyway
    // when few rows are expired. Instances pruning at once don't queue: a batch runs only
    // while it holds the table's GC lock (transaction-scoped); another instance's batch finds
    // it taken and deletes nothing, which ends that instance's run.
    return {
      sql: `delete from ${t} where ctid = any(array(select ctid from ${t} where ${exp} <= ${ein} and (select pg_try_advisory_xact_lock(hashtext('sessionkit:gc:${t}'))) limit ?))`,
      params: boundAndLimit,
    };
  if (flavor === "sqlite")
    return {
      sql: `delete from ${t} where rowid in (select rowid from ${t} where ${exp} <= ${ein} order by ${exp} limit ?)`,
      params: boundAndLimit,
    };
  // A table without an expiry index (express-mysql-session's) is scanned in key order: no sort per batch.
  if (s.expiresIndexed === false)
    return { sql: `delete from ${t} where ${exp} <= ${ein} limit ?`, params: boundAndLimit };
  // InnoDB locks what a DELETE scans. `delete ... order by expires limit n` walks the expiry
  // index, deleting as it goes, and so locks expired rows only, until n reaches about as many
  // rows as are expired on a table mostly expired: then the optimizer scans the whole table
  // instead, and every live row it passes waits for the batch (a learned batch size, or the last
  // batch of a backlog, did that). The backend asks for the plan first (EXPLAIN: one more round
  // trip per batch); when it is such a scan, `byKey` runs instead: the ids from the expiry index
  // alone (it covers them, so no plan beats it), and each row taken by its key, its expiry
  // checked again (a session touched since stays). That one is slower (MariaDB deletes a join's
  // rows after the join, not as it goes), so it runs only where the other would scan.
  return {
    sql: `delete from ${t} where ${exp} <= ${ein} order by ${exp} limit ?`,
    params: boundAndLimit,
    byKey: {
      sql: `delete x from ${t} as x join (select ${sid} from ${t} where ${exp} <= ${ein} order by ${exp} limit ?) as b on x.${sid} = b.${sid} where x.${exp} <= ${ein}`,
      params: (bound, limit) => [bound, limit, bound],
    },
  };
}

/** sessionkit's own layout: sid, data (NULL in a tombstone), expires, owner, created, active; times in epoch ms. */
export function ownLayout(flavor: Flavor, table: string, tableName: string): Layout {
  const q = (name: string) => quote(flavor, name);
  const idx = (purpose: string) => q(`${tableName}_${purpose}_idx`);
  const ms = (value: unknown) => Number(value);
  return {
    legacy: undefined,
    flavor,
    table,
    columns: ["sid", "data", "expires", "owner", "created", "active"],
    capabilities: {
      owners: true,
      tombstones: true,
      createdAt: true,
      maxPayloadBytes: MAX_PAYLOAD[flavor],
      ...(flavor === "sqlite" ? {} : { idProblem: idLimit(flavor === "pg" ? 2000 : 1020) }),
    },
    create(t) {
      if (flavor === "mysql") {
        // Binary ids and owners: the default collations ignore case and trailing spaces.
        return [
          `create table if not exists ${t} (sid varbinary(1020) not null primary key, data mediumtext character set utf8mb4 null, expires bigint not null, owner varbinary(1020) null, created bigint null, active bigint null, key ${idx("expires")} (expires), key ${idx("owner")} (owner)) engine=InnoDB`,
        ];
      }
      const [text, int] = flavor === "pg" ? ["text", "bigint"] : ["text", "integer"];
      return [
        `create table if not exists ${t} (sid ${text} not null primary key, data ${text}, expires ${int} not null, owner ${text}, created ${int}, active ${int})`,
        `create index if not exists ${idx("expires")} on ${t} (expires)`,
        `create index if not exists ${idx("owner")} on ${t} (owner) where owner is not null`,
      ];
    },
    upgrade(found) {
      // sessionkit 0.1 tables: no created/active, and data NOT NULL (found maps a column to "nullable").
      const missing = ["created", "active"].filter((c) => !found.has(c));
      if (missing.length === 0 && found.get("data") === true) return undefined;
      if (flavor === "sqlite") {
        // SQLite can't drop a NOT NULL: rebuild the table, in init's transaction.
        const next = q(`${tableName}_sk_upgrade`);
        return [
          `drop table if exists ${next}`,
          this.create(next)[0] as string,
          `insert into ${next} (sid, data, expires, owner) select sid, data, expires, owner from ${table}`,
          `drop table ${table}`,
          `alter table ${next} rename to ${q(tableName)}`,
          ...this.create(table).slice(1),
        ];
      }
      const type = flavor === "pg" ? "bigint" : "bigint null";
      const nullable =
        flavor === "pg"
          ? "alter column data drop not null"
          : "modify column data mediumtext character set utf8mb4 null";
      return [`alter table ${table} ${[...missing.map((c) => `add column ${c} ${type}`), nullable].join(", ")}`];
    },
    toDb: ms,
    bound: ms,
    fromDb: ms,
    sql: statements({
      flavor,
      table,
      sid: "sid",
      data: "data",
      expires: "expires",
      expiresIn: "?",
      expiresOut: "expires",
      payloadOut: "data",
      own: true,
    }),
  };
}

/** An id longer than `bytes` in UTF-8 can't be a key of the table. */
export function idLimit(bytes: number, unit = "bytes"): (id: string) => string | undefined {
  return (id) =>
    (unit === "bytes" ? Buffer.byteLength(id) : id.length) > bytes
      ? `is longer than this table's id column holds (${bytes} ${unit})`
      : undefined;
}
