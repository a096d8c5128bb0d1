/**
 * `@sessionkit/core/kit`: what every backend adapter needs, written once. An adapter built on it
 * validates its options with the same messages as the core, serializes work per session id,
 * caps expiries at the store's lifetime as the core means it (`cappedExpiry`), and reports errors
 * with the core's codes. See the conformance README for a complete adapter.
 */
export type {
  BackendCapabilities,
  OwnerDestroy,
  SessionBackend,
  SessionRecord,
  SessionTouch,
  SessionWrite,
  Tombstone,
} from "../backend.js";
export { configError, type ErrorCode, ErrorCodes, isSessionStoreError, SessionStoreError } from "../errors.js";
export { KeyedQueue } from "../keyed-queue.js";
export { idFingerprint, type Logger } from "../logger.js";
export { fromCallback, unsupported } from "./calls.js";
export { cookieExpiry, isSessionObject } from "./legacy.js";
export { describeValue, type OptionRule, type ResolvedOptionsOf, readOptions, reject, rules } from "./options.js";
export { cappedExpiry } from "./records.js";
