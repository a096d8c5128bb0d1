/**
 * The part of the PouchDB API this adapter uses, typed by shape so any PouchDB build
 * (pouchdb, pouchdb-node, pouchdb-core with plugins, any version from 7 on) fits.
 */

/** A stored document as PouchDB returns it. */
export interface PouchDocument {
  _id: string;
  _rev?: string;
  _deleted?: boolean;
  [field: string]: unknown;
}

/** The answer of `put`. */
export interface PouchWriteResult {
  id?: string;
  rev?: string;
  ok?: boolean;
}

/** One entry of a `bulkDocs` answer: a success, or an error object with a status. */
export interface PouchBulkResult {
  id?: string;
  rev?: string;
  ok?: boolean;
  error?: unknown;
  status?: number;
}

/** One row of a view query. */
export interface PouchViewRow {
  id?: string;
  key: unknown;
  value: unknown;
  doc?: PouchDocument | null;
}

/** The answer of `query`. */
export interface PouchViewResult {
  rows: PouchViewRow[];
}

/**
 * A PouchDB database: what `new PouchDB(...)` returns. It needs the map/reduce plugin
 * (`query`), which the `pouchdb` package includes.
 */
export interface PouchDatabase {
  get(id: string): Promise<PouchDocument>;
  put(doc: PouchDocument): Promise<PouchWriteResult>;
  bulkDocs(docs: PouchDocument[]): Promise<PouchBulkResult[]>;
  query(view: string, options: Record<string, unknown>): Promise<PouchViewResult>;
  info(): Promise<unknown>;
  compact?(): Promise<unknown>;
  close?(): Promise<unknown>;
  destroy?(): Promise<unknown>;
  /** The adapter name PouchDB sets on every database, e.g. "leveldb", "memory", "http". */
  readonly adapter?: string;
}

/** The PouchDB status of an error, when it has one (404 missing, 409 conflict, ...). */
export function pouchStatus(error: unknown): number | undefined {
  if (typeof error === "object" && error !== null && "status" in error) {
    const status = (error as { status: unknown }).status;
    return typeof status === "number" ? status : undefined;
  }
  return undefined;
}

export const isMissing = (error: unknown): boolean => pouchStatus(error) === 404;
export const isConflict = (error: unknown): boolean => pouchStatus(error) === 409;
