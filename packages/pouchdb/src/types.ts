/**
 * The part of the PouchDB API this adapter uses, typed by shape: any PouchDB build with map/reduce
 * fits (`pouchdb`, or `pouchdb-core` with `pouchdb-mapreduce`), without PouchDB's own types.
 */

/** A document's fields (without `_id` and `_rev` they are what a later write builds on). */
export type Fields = Record<string, unknown>;

/** A stored document as PouchDB returns it. */
export interface PouchDocument extends Fields {
  _id: string;
  _rev?: string;
  _deleted?: boolean;
}

/** The answer of `put`, or one entry of a `bulkDocs` answer (a success, or an error with a status). */
export interface PouchResult {
  ok?: boolean;
  id?: string;
  rev?: string;
  error?: unknown;
  status?: number;
}

/** One row of a view query or of `allDocs`. */
export interface PouchRow {
  id?: string;
  key: unknown;
  value?: unknown;
  doc?: PouchDocument | null;
  error?: string;
}

/** A PouchDB database: what `new PouchDB(...)` returns. */
export interface PouchDatabase {
  /** The adapter PouchDB picked, e.g. "leveldb", "memory", "http". */
  readonly adapter?: string;
  /** The name or URL it was opened with. */
  readonly name?: string;
  get(id: string): Promise<PouchDocument>;
  put(doc: PouchDocument): Promise<PouchResult>;
  bulkDocs(docs: PouchDocument[]): Promise<PouchResult[]>;
  allDocs(options: { keys: string[]; include_docs: boolean }): Promise<{ rows: PouchRow[] }>;
  query(view: string, options: Record<string, unknown>): Promise<{ rows: PouchRow[] }>;
  info(): Promise<unknown>;
  close?(): Promise<unknown>;
  destroy?(): Promise<unknown>;
}
