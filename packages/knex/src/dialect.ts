import type { Knex } from "knex";

/** The SQL dialects with a hand-written schema and queries. Everything else is "generic". */
export type Dialect = "pg" | "mysql" | "sqlite" | "generic";

/** The drivers whose connections the adapter talks to directly on the hot path. */
export type FastDriver = "pg" | "mysql2" | "better-sqlite3";

export interface DetectedClient {
  dialect: Dialect;
  /** Set when the connection objects in knex's pool are ones the adapter knows how to query directly. */
  fastDriver: FastDriver | undefined;
  /** The client name as configured, for logs and `backend.name`. */
  clientName: string;
}

/**
 * Reads the dialect and driver knex was configured with. Declared, never probed: no query is
 * sent. CockroachDB reports the PostgreSQL dialect but lacks parts of it (ctid, advisory locks),
 * so it takes the generic path like every other untested dialect.
 */
export function detectClient(knex: Knex): DetectedClient {
  const client = knex.client as { dialect?: unknown; driverName?: unknown; config?: { client?: unknown } };
  const dialectName = typeof client.dialect === "string" ? client.dialect : "";
  const driverName = typeof client.driverName === "string" ? client.driverName : "";
  const configured = client.config?.client;
  const clientName = typeof configured === "string" ? configured : driverName || dialectName || "unknown";

  let dialect: Dialect = "generic";
  if (dialectName === "postgresql" && driverName !== "cockroachdb") dialect = "pg";
  else if (dialectName === "mysql") dialect = "mysql";
  else if (dialectName === "sqlite3") dialect = "sqlite";

  let fastDriver: FastDriver | undefined;
  if (dialect === "pg" && driverName === "pg") fastDriver = "pg";
  else if (dialect === "mysql" && driverName === "mysql2") fastDriver = "mysql2";
  else if (dialect === "sqlite" && driverName === "better-sqlite3") fastDriver = "better-sqlite3";

  return { dialect, fastDriver, clientName };
}
