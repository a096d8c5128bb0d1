import { configError } from "@sessionkit/core";
import { identifierProblem } from "./identifiers.js";

/** Options of `knexAdapter`. Every option is checked when the adapter is constructed. */
export interface KnexAdapterOptions {
  /** The table holding sessions. Letters, digits and underscores, at most 50 characters. Default: `"sessions"`. */
  tableName?: string;
  /** PostgreSQL schema of the table (created by `init()` when missing). Default: none (the search path). */
  schemaName?: string;
  /** Column of the session id (primary key). Default: `"sid"`. */
  sidColumn?: string;
  /** Column of the serialized session. Default: `"data"` (`"sess"` with `legacy`). */
  dataColumn?: string;
  /** Column of the expiry, epoch milliseconds in a BIGINT. Default: `"expires"` (`"expired"`, a timestamp, with `legacy`). */
  expiresColumn?: string;
  /** Column of the session owner, for `destroyByOwner`. Default: `"owner"`. Not available with `legacy`. */
  ownerColumn?: string;
  /** Whether `init()` creates the table and its indexes when they are missing. Default: `true`. */
  createTable?: boolean;
  /**
   * Read and write an existing table of another store in place, in its own layout.
   * `"connect-session-knex"`: the `sid`, `sess` (JSON) and `expired` (timestamp) table of
   * connect-session-knex 5, so switching stores logs nobody out. Owners are not supported there.
   * Default: none (sessionkit's own layout).
   */
  legacy?: "connect-session-knex";
  /**
   * PostgreSQL: run the hot-path queries as named prepared statements (parsed once per
   * connection). Turn off behind a pooler that cannot carry them (PgBouncer before 1.21 in
   * transaction mode). Default: `true`.
   */
  preparedStatements?: boolean;
}

/** The options after validation and defaults. */
export interface ResolvedOptions {
  tableName: string;
  schemaName: string | undefined;
  sidColumn: string;
  dataColumn: string;
  expiresColumn: string;
  /** undefined in legacy mode: there is no owner column. */
  ownerColumn: string | undefined;
  createTable: boolean;
  legacy: "connect-session-knex" | undefined;
  preparedStatements: boolean;
}

const KNOWN = new Set<string>([
  "tableName",
  "schemaName",
  "sidColumn",
  "dataColumn",
  "expiresColumn",
  "ownerColumn",
  "createTable",
  "legacy",
  "preparedStatements",
]);

/** Index names are derived from the table name (`<table>_expires_idx`), so the table name is kept short. */
const MAX_TABLE_NAME = 50;
const MAX_IDENTIFIER = 63;

function identifier(option: string, value: unknown, maxLength: number): string {
  const problem = identifierProblem(value, maxLength);
  if (problem) throw configError(option, problem);
  return value as string;
}

function boolean(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw configError(option, `must be a boolean, got ${typeof value}`);
  return value;
}

/** Validates the options and fills in defaults; throws ERR_SESSION_CONFIG naming the bad option. */
export function resolveOptions(options: KnexAdapterOptions | undefined): ResolvedOptions {
  if (options === undefined) options = {};
  if (typeof options !== "object" || options === null) throw configError("options", "must be an object");
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw configError(key, "is not an option of knexAdapter");
  }

  const legacy = options.legacy;
  if (legacy !== undefined && legacy !== "connect-session-knex") {
    throw configError("legacy", 'must be "connect-session-knex" or left out');
  }
  if (legacy && options.ownerColumn !== undefined) {
    throw configError("ownerColumn", "is not available with legacy: the legacy table has no owner column");
  }

  const resolved: ResolvedOptions = {
    tableName: identifier("tableName", options.tableName ?? "sessions", MAX_TABLE_NAME),
    schemaName:
      options.schemaName === undefined ? undefined : identifier("schemaName", options.schemaName, MAX_IDENTIFIER),
    sidColumn: identifier("sidColumn", options.sidColumn ?? "sid", MAX_IDENTIFIER),
    dataColumn: identifier("dataColumn", options.dataColumn ?? (legacy ? "sess" : "data"), MAX_IDENTIFIER),
    expiresColumn: identifier(
      "expiresColumn",
      options.expiresColumn ?? (legacy ? "expired" : "expires"),
      MAX_IDENTIFIER,
    ),
    ownerColumn: legacy ? undefined : identifier("ownerColumn", options.ownerColumn ?? "owner", MAX_IDENTIFIER),
    createTable: boolean("createTable", options.createTable, true),
    legacy,
    preparedStatements: boolean("preparedStatements", options.preparedStatements, true),
  };

  const columns = [resolved.sidColumn, resolved.dataColumn, resolved.expiresColumn, resolved.ownerColumn].filter(
    (c): c is string => c !== undefined,
  );
  const lower = columns.map((c) => c.toLowerCase());
  if (new Set(lower).size !== lower.length) {
    throw configError(
      "sidColumn",
      `and the other column options must name different columns, got ${columns.join(", ")}`,
    );
  }
  return resolved;
}
