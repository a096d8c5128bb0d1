/**
 * The part of the PouchDB API the adapter uses, typed by shape: any PouchDB build with map/reduce
 * fits (`pouchdb`, or `pouchdb-core` with `pouchdb-mapreduce`) without PouchDB's own types.
 */

/** A document's fields. */
export type Fields = Record<string, unknown>;

/** A stored document as PouchDB returns it. */
export interface PouchDocument extends Fields {
  _id: string;
  _rev?: string;
}

/** The answer of `put`, or one entry of `bulkDocs`'s: a success, or an error with a status. */
type PouchResult = { rev?: string; error?: unknown; status?: number };

/** One row of a view query or of `allDocs` (where a missing key's row has an `error` and no `id`). */
export type PouchRow = { id: string; key: unknown; value?: unknown; doc?: PouchDocument | null };

/** A PouchDB database: what `new PouchDB(...)` returns. */
export interface PouchDatabase {
  /** The adapter PouchDB picked, e.g. "leveldb", "http". */
  readonly adapter?: string;
  /** The name, path or URL it was opened with. */
  readonly name?: string;
  get(id: string): Promise<PouchDocument>;
  put(doc: PouchDocument): Promise<PouchResult>;
  bulkDocs(docs: PouchDocument[]): Promise<PouchResult[]>;
  allDocs(options: { keys: string[]; include_docs: boolean }): Promise<{ rows: PouchRow[] }>;
  query(view: string, options: Record<string, unknown>): Promise<{ rows: PouchRow[] }>;
  info(): Promise<unknown>;
}
