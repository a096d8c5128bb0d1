/** Stable error codes of the sessionkit store. */
export const ErrorCodes = {
  /**
   * The session id is not a string, is empty, longer than `maxIdLength`, not well-formed UTF-16,
   * contains NUL, or is one the backend can't store; also a bad owner argument.
   */
  INVALID_ID: "ERR_SESSION_INVALID_ID",
  /** The session could not be serialized (circular, BigInt, a throwing serializer or owner function). */
  SERIALIZE: "ERR_SESSION_SERIALIZE",
  /** The serialized session is larger than `maxSize` or than the backend can hold. */
  TOO_LARGE: "ERR_SESSION_TOO_LARGE",
  /** The backend (database, driver, network) failed. `cause` holds the driver's error. */
  BACKEND: "ERR_SESSION_BACKEND",
  /** A backend call did not settle within `operationTimeout` (a hung database). Whether a write landed is unknown. */
  TIMEOUT: "ERR_SESSION_TIMEOUT",
  /** The store was closed. */
  CLOSED: "ERR_SESSION_CLOSED",
  /** An option is invalid (thrown at construction). */
  CONFIG: "ERR_SESSION_CONFIG",
  /** The backend does not support the operation (declared in its capabilities). */
  UNSUPPORTED: "ERR_SESSION_UNSUPPORTED",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The one error class of sessionkit: every failure carries a stable `code` and, where there is one, a `cause`. */
export class SessionStoreError extends Error {
  override name = "SessionStoreError";
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True when `error` is a SessionStoreError, optionally with the given code. */
export function isSessionStoreError(error: unknown, code?: ErrorCode): error is SessionStoreError {
  return error instanceof SessionStoreError && (code === undefined || error.code === code);
}

/** A configuration error: thrown synchronously at construction, naming the option. */
export function configError(option: string, problem: string): SessionStoreError {
  return new SessionStoreError(ErrorCodes.CONFIG, `sessionkit: option "${option}" ${problem}`);
}
