import { type BackendCapabilities, configError, type SessionBackend } from "@sessionkit/core";
import type { Knex } from "knex";
import { type Dialect, detectClient } from "./dialect.js";
import { GenericBackend } from "./generic-backend.js";
import { NativeBackend } from "./native-backend.js";
import { type KnexAdapterOptions, type ResolvedOptions, resolveOptions } from "./options.js";
import { createRunner } from "./runners.js";

/**
 * The largest payload each layout holds, in UTF-8 bytes: PostgreSQL text and json (1 GB),
 * MySQL MEDIUMTEXT (16 MiB - 1; the legacy JSON column is bounded by the 16 MiB default
 * max_allowed_packet instead), SQLite's default maximum string length (1e9, less the row's
 * other columns). Other dialects declare none.
 */
function maxPayloadBytes(dialect: Dialect): number | undefined {
  switch (dialect) {
    case "pg":
      return 1_000_000_000;
    case "mysql":
      return 16 * 1024 * 1024 - 1;
    case "sqlite":
      return 999_000_000;
    case "generic":
      return undefined;
  }
}

/**
 * GC batch sizes measured with packages/bench (100,000 expired among 10,000 live): on
 * PostgreSQL and SQLite batches of 10,000 ran 1.9x and 1.1x faster than 1000 and matched one
 * unbounded DELETE; on MariaDB, with the index-range batches of mysql-expired.ts, 10,000 ran
 * 1.7x faster than 1000 (600 ms against 1,100 ms for the 100,000 rows). The generic path keeps
 * the core's default.
 */
function gcBatchSize(dialect: Dialect): number | undefined {
  return dialect === "generic" ? undefined : 10_000;
}

function capabilitiesOf(dialect: Dialect, options: ResolvedOptions): BackendCapabilities {
  const max = maxPayloadBytes(dialect);
  const batch = gcBatchSize(dialect);
  return {
    owners: options.ownerColumn !== undefined,
    ...(max === undefined ? {} : { maxPayloadBytes: max }),
    ...(batch === undefined ? {} : { gcBatchSize: batch }),
  };
}

function isKnex(value: unknown): value is Knex {
  return typeof value === "function" && typeof (value as { client?: unknown }).client === "object";
}

/**
 * A sessionkit backend storing sessions in a table through the given knex instance, which
 * stays the caller's: the adapter borrows its pool and never destroys it.
 *
 * @param knex a knex instance (PostgreSQL/pg, MySQL or MariaDB/mysql2 and SQLite/better-sqlite3
 *   are tested; other clients use a portable, untested path).
 * @param options table and column names, table creation, legacy layout.
 * @throws SessionStoreError ERR_SESSION_CONFIG for a bad knex argument or option, naming it.
 */
export function knexAdapter(knex: Knex, options?: KnexAdapterOptions): SessionBackend {
  if (!isKnex(knex)) throw configError("knex", "must be a knex instance (the function returned by knex({...}))");
  const resolved = resolveOptions(options);
  const { dialect, fastDriver, clientName } = detectClient(knex);
  if (resolved.schemaName !== undefined && dialect === "sqlite") {
    throw configError("schemaName", "is not supported on SQLite");
  }
  const capabilities = capabilitiesOf(dialect, resolved);
  if (fastDriver && dialect !== "generic") {
    const runner = createRunner(knex, fastDriver, { preparedStatements: resolved.preparedStatements });
    return new NativeBackend(knex, dialect, resolved, runner, capabilities);
  }
  return new GenericBackend(knex, dialect, resolved, clientName, capabilities);
}
