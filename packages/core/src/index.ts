export type { BackendCapabilities, SessionBackend, SessionRecord } from "./backend.js";
export { ErrorCodes, SessionStoreError, isSessionStoreError, type ErrorCode } from "./errors.js";
export type { Logger } from "./logger.js";
export type { SessionData, StoreOptions } from "./options.js";
export { jsonSerializer, type Serializer } from "./serializer.js";
