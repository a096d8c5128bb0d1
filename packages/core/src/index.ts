export type {
  BackendCapabilities,
  OwnerDestroy,
  SessionBackend,
  SessionRecord,
  SessionTouch,
  SessionWrite,
  Tombstone,
} from "./backend.js";
export { createStore } from "./create-store.js";
export type { Callback } from "./dual-api.js";
export { configError, type ErrorCode, ErrorCodes, isSessionStoreError, SessionStoreError } from "./errors.js";
export type { Logger } from "./logger.js";
export { type MemoryBackendOptions, memoryBackend } from "./memory-backend.js";
export type { EncryptionOptions, SessionCookie, SessionData, StoreOptions } from "./options.js";
export { jsonSerializer, type Serializer } from "./serializer.js";
export { type OwnedSession, SessionkitStore } from "./store.js";
