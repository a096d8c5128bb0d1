import type { Encryption } from "./encryption.js";
import { ErrorCodes, SessionStoreError } from "./errors.js";
import { isSessionObject } from "./kit/legacy.js";
import type { Serializer } from "./serializer.js";

/**
 * Turns a session into the stored payload and back: check its shape, serialize, encrypt (bound
 * to the id), enforce the size limit. The session object is only read, never mutated.
 */
export class PayloadCodec {
  constructor(
    private readonly serializer: Serializer,
    private readonly encryption: Encryption | undefined,
    private readonly maxBytes: number,
  ) {}

  encode(session: unknown, sessionId: string): string {
    if (!isSessionObject(session)) {
      throw new SessionStoreError(
        ErrorCodes.SERIALIZE,
        "sessionkit: a session must be an object with a cookie object (as express-session and @fastify/session give)",
      );
    }
    let payload: string;
    try {
      payload = this.serializer.stringify(session);
      if (typeof payload !== "string") throw new TypeError(`serializer returned ${typeof payload}, not a string`);
      if (this.encryption) payload = this.encryption.encrypt(payload, sessionId);
    } catch (cause) {
      throw new SessionStoreError(ErrorCodes.SERIALIZE, "sessionkit: the session could not be serialized", { cause });
    }
    // A UTF-8 character takes at most 3 bytes per UTF-16 unit: skip the byte count when it can't matter.
    if (payload.length * 3 > this.maxBytes) {
      const bytes = Buffer.byteLength(payload, "utf8");
      if (bytes > this.maxBytes) {
        throw new SessionStoreError(
          ErrorCodes.TOO_LARGE,
          `sessionkit: the serialized session is ${bytes} bytes, over the limit of ${this.maxBytes} (option maxSize)`,
        );
      }
    }
    return payload;
  }

  /**
   * Throws when the payload can't be read back as a session (corrupt, tampered, moved from another
   * id, wrong key, or valid data that is not a session); the store treats that as missing.
   */
  decode(payload: string, sessionId: string): Record<string, unknown> {
    const text = this.encryption ? this.encryption.decrypt(payload, sessionId) : payload;
    let session: unknown;
    try {
      session = this.serializer.parse(text);
    } catch (error) {
      // A parser's message may quote the stored value (JSON.parse does): none of it goes further.
      throw new Error(error instanceof SyntaxError ? "not valid JSON" : "the serializer could not parse it");
    }
    if (!isSessionObject(session)) throw new TypeError("stored value is not a session (no cookie object)");
    return session;
  }
}
