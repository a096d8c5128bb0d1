import { createHash } from "node:crypto";

type LogFn = (obj: object, msg?: string) => void;

/** The shape of logger the store accepts: a pino logger, or anything with the same methods. */
export interface Logger {
  child(bindings: Record<string, unknown>): Logger;
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  isLevelEnabled?(level: string): boolean;
}

const noop: LogFn = () => {};

/** The logger used when none is given: silent, and cheap enough for the hot path. */
export const silentLogger: Logger = {
  child: () => silentLogger,
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  isLevelEnabled: () => false,
};

/**
 * A short, stable fingerprint of a session id for log lines. The id itself is a bearer
 * credential and never reaches the log; the fingerprint still lets lines be correlated.
 */
export function idFingerprint(id: unknown): string {
  if (typeof id !== "string") return `<${typeof id}>`;
  return createHash("sha256").update(id).digest("base64url").slice(0, 10);
}
