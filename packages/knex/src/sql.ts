import type { Dialect } from "./dialect.js";
import type { ResolvedOptions } from "./options.js";

/** The hot-path and maintenance statements of one table, with `?` placeholders. */
export interface Statements {
  /** [id] → rows of { p: payload, e: expiry, o?: owner } */
  get: string;
  /** [id, payload, expiry, owner] (legacy: [id, payload, expiry]) */
  upsert: string;
  /** [expiry, id, now]: a no-op when the row is missing or already expired at now (one conditional write). */
  touch: string;
  /** [id] */
  destroy: string;
  /** [owner]; undefined in legacy mode */
  destroyByOwner: string | undefined;
  clear: string;
  /** [now] → one row { n } */
  count: string;
  /** [now] (first page) or [now, lastId] (next pages) → rows of { s, p, e, o? } ordered by id */
  streamPage(after: boolean, pageSize: number): string;
}

export type SqlDialect = Exclude<Dialect, "generic">;

/** Quotes an identifier already validated as [A-Za-z_][A-Za-z0-9_]*, so no escaping is needed. */
export function quote(dialect: SqlDialect, name: string): string {
  return dialect === "mysql" ? `\`${name}\`` : `"${name}"`;
}

/** The quoted, schema-qualified table name. */
export function qualifiedTable(dialect: SqlDialect, options: ResolvedOptions): string {
  const table = quote(dialect, options.tableName);
  return options.schemaName ? `${quote(dialect, options.schemaName)}.${table}` : table;
}

/**
 * How the expiry column is read in a SELECT list. Native tables hold epoch ms in a BIGINT.
 * connect-session-knex tables hold a timestamp: PostgreSQL converts it to epoch ms itself
 * (right for timestamptz and for a timestamp without zone holding UTC); MySQL's DATETIME is
 * read as text and parsed as UTC (that is how connect-session-knex writes it), so neither
 * depends on the connection's time zone.
 */
export function expiresSelect(dialect: SqlDialect, options: ResolvedOptions): string {
  const column = quote(dialect, options.expiresColumn);
  if (!options.legacy) return column;
  if (dialect === "pg") return `(extract(epoch from ${column}) * 1000)::float8`;
  if (dialect === "mysql") return `CAST(${column} AS CHAR)`;
  return column;
}

/** The payload in a SELECT list. connect-session-knex's column is `json` on PostgreSQL: read its exact text. */
function payloadSelect(dialect: SqlDialect, options: ResolvedOptions): string {
  const column = quote(dialect, options.dataColumn);
  return options.legacy && dialect === "pg" ? `${column}::text` : column;
}

function upsertSql(dialect: SqlDialect, table: string, columns: string[]): string {
  const [sid, ...rest] = columns;
  const list = columns.join(", ");
  const placeholders = columns.map(() => "?").join(", ");
  const insert = `insert into ${table} (${list}) values (${placeholders})`;
  if (dialect === "mysql")
    return `${insert} on duplicate key update ${rest.map((c) => `${c} = values(${c})`).join(", ")}`;
  return `${insert} on conflict (${sid}) do update set ${rest.map((c) => `${c} = excluded.${c}`).join(", ")}`;
}

/**
 * One GC batch on PostgreSQL or SQLite, [now]; the batch size is inlined (a validated integer).
 * MySQL needs two statements per batch: see MysqlExpiredCollector.
 */
export function deleteExpiredSql(dialect: "pg" | "sqlite", options: ResolvedOptions, limit: number): string {
  const table = qualifiedTable(dialect, options);
  const expires = quote(dialect, options.expiresColumn);
  switch (dialect) {
    // Oldest first along the expiry index. SKIP LOCKED: several instances pruning at once take disjoint rows instead of queueing
    // behind each other or behind live updates; ctid avoids a second index lookup per row.
    case "pg":
      return `delete from ${table} where ctid = any(array(select ctid from ${table} where ${expires} <= ? order by ${expires} limit ${limit} for update skip locked))`;
    case "sqlite":
      return `delete from ${table} where rowid in (select rowid from ${table} where ${expires} <= ? order by ${expires} limit ${limit})`;
  }
}

/** Builds every statement for one dialect and table layout. */
export function buildStatements(dialect: SqlDialect, options: ResolvedOptions): Statements {
  const q = (name: string) => quote(dialect, name);
  const table = qualifiedTable(dialect, options);
  const sid = q(options.sidColumn);
  const data = q(options.dataColumn);
  const expires = q(options.expiresColumn);
  const owner = options.ownerColumn ? q(options.ownerColumn) : undefined;

  const values = `${payloadSelect(dialect, options)} as p, ${expiresSelect(dialect, options)} as e${owner ? `, ${owner} as o` : ""}`;
  const upsertColumns = owner ? [sid, data, expires, owner] : [sid, data, expires];

  return {
    get: `select ${values} from ${table} where ${sid} = ?`,
    upsert: upsertSql(dialect, table, upsertColumns),
    touch: `update ${table} set ${expires} = ? where ${sid} = ? and ${expires} > ?`,
    destroy: `delete from ${table} where ${sid} = ?`,
    destroyByOwner: owner ? `delete from ${table} where ${owner} = ?` : undefined,
    clear: `delete from ${table}`,
    count: `select count(*) as n from ${table} where ${expires} > ?`,
    streamPage: (after, pageSize) =>
      `select ${sid} as s, ${values} from ${table} where ${expires} > ?${after ? ` and ${sid} > ?` : ""} order by ${sid} limit ${pageSize}`,
  };
}
