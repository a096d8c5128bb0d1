/**
 * PouchDB's errors, and ours. PouchDB rejects with its own objects (over HTTP plain objects with
 * `status`, `name` and `message`, whose text may quote a request URL with a document id or an
 * owner): they pass to the core unchanged, which scrubs them. The errors made here never name a
 * session id, an owner or a session's contents.
 */

/** The PouchDB status of an error (404 missing, 409 conflict, ...), when it has one. */
const statusOf = (error: unknown) => (error as { status?: unknown } | null)?.status;
export const isMissing = (error: unknown): boolean => statusOf(error) === 404;
export const isConflict = (error: unknown): boolean => statusOf(error) === 409;

/** A failure of this adapter's own. */
export function adapterError(problem: string, cause?: unknown): Error {
  const error = new Error(`sessionkit/pouchdb: ${problem}`, cause === undefined ? {} : { cause });
  error.name = "PouchdbAdapterError";
  return error;
}

/** `init()` could not open the database: says what usually causes it. */
export function openFailed(label: string, cause: unknown): Error {
  const text = String((cause as Error | null)?.message ?? cause);
  const hint = /LOCK|No such file/i.test(text)
    ? " (a LevelDB database's directory must exist: create the directory it lives in first)"
    : "";
  return adapterError(`database ${label} could not be opened${hint}: ${text}`, cause);
}
