/**
 * PouchDB's errors, and ours. PouchDB rejects with its own objects (over HTTP plain objects with
 * `status`, `name` and `message`, whose text may quote a request URL with a document id or an
 * owner): they pass to the core unchanged, which scrubs them. The errors made here never name a
 * session id, an owner or a session's contents.
 */

/** The PouchDB status of an error (404 missing, 409 conflict, ...), when it has one. */
function statusOf(error: unknown): unknown {
  return typeof error === "object" && error !== null ? (error as { status?: unknown }).status : undefined;
}

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
  const text = typeof cause === "object" && cause !== null ? String((cause as Error).message) : String(cause);
  const hint = /LOCK|No such file/i.test(text)
    ? " (a LevelDB database's directory must exist: create the directory it lives in first)"
    : "";
  return adapterError(`database ${label} could not be opened${hint}: ${text}`, cause);
}

/** A package a target needs is not installed: `what` says which (e.g. "a URL needs pouchdb"). */
export const notInstalled = (what: string, cause: unknown) => adapterError(`${what}: install it`, cause);
