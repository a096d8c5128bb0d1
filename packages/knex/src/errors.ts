import { ErrorCodes, SessionStoreError } from "@sessionkit/core/kit";
import type { Layout } from "./layout.js";
import type { TablePlace } from "./schema.js";

/** The layouts init() recognises, by their columns, and how to open each. */
const KNOWN: ReadonlyArray<[layout: string, columns: string[], option: string]> = [
  ["sessionkit", ["sid", "data", "expires", "owner"], "leave out legacy"],
  ["connect-session-knex", ["sid", "sess", "expired"], 'pass legacy: "connect-session-knex"'],
  ["connect-pg-simple", ["sid", "sess", "expire"], 'pass legacy: "connect-pg-simple"'],
  ["express-mysql-session", ["session_id", "expires", "data"], 'pass legacy: "express-mysql-session"'],
];

const whose = (name: string) => (name === "sessionkit" ? "sessionkit's own" : `${name}'s`);

/**
 * The one message for a table init() can't use, the same on every dialect: the table, the columns
 * found, the layout they look like and the option that opens it. Code ERR_SESSION_CONFIG.
 */
export function layoutError(
  layout: Layout,
  place: TablePlace,
  found: ReadonlyMap<string, boolean>,
  createTable: boolean,
): SessionStoreError {
  const table = `table "${place.schema ? `${place.schema}.` : ""}${place.name}"`;
  const wanted = layout.legacy ? `${layout.legacy}'s layout` : "sessionkit's own layout";
  let message: string;
  if (found.size === 0) {
    message = `${table} does not exist and createTable is false: let init() create it in ${wanted} (createTable: true), or pass the tableName of an existing table`;
  } else {
    const columns = [...found.keys()];
    const known = KNOWN.find(([, wantedColumns]) => wantedColumns.every((c) => found.has(c)));
    const own = !layout.legacy && known?.[0] === "sessionkit";
    if (own && !createTable) {
      message = `${table} has the columns ${columns.join(", ")}: sessionkit 0.1's layout, which init() upgrades in place (adding the columns created and active) only when createTable is true`;
    } else {
      const looks = known
        ? `which is ${whose(known[0])} layout: to use it as it is, ${known[2]}`
        : `which is no layout sessionkit knows (${KNOWN.map(([name]) => whose(name)).join(", ")})`;
      message = `${table} has the columns ${columns.join(", ")}, ${looks}; to keep ${wanted}, pass another tableName`;
    }
  }
  return new SessionStoreError(ErrorCodes.CONFIG, `sessionkit: ${message}`);
}
