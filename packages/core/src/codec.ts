import type { Encryption } from "./encryption.js";
import { ErrorCodes, SessionStoreError } from "./errors.js";
import type { Serializer } from "./serializer.js";

/**
 * Turns a session into the stored payload and back: serialize, encrypt, enforce the size limit.
 * The session object is only read, never mutated.
 */
export class PayloadCodec {
  constructor(
    private readonly serializer: Serializer,
    private readonly encryption: Encryption | undefined,
    private readonly maxBytes: number,
  ) {}

  encode(session: unknown): string {
    let payload: string;
    try {
      payload = this.serializer.stringify(session);
      if (typeof payload !== "string") throw new TypeError(`serializer returned ${typeof payload}, not a string`);
      if (this.encryption) payload = this.encryption.encrypt(payload);
    } catch (cause) {
      throw new SessionStoreError(ErrorCodes.SERIALIZE, "sessionkit: the session could not be serialized", { cause });
    }
    // A UTF-8 character takes at most 3 bytes per UTF-16 unit: skip the byte count when it can't matter.
    if (payload.length * 3 > this.maxBytes) {
      const bytes = Buffer.byteLength(payload, "utf8");
      if (bytes > this.maxBytes) {
        throw new SessionStoreError(
          ErrorCodes.TOO_LARGE,
          `sessionkit: the serialized session is ${bytes} bytes, over the limit of ${this.maxBytes}`,
        );
      }
    }
    return payload;
  }

  /** Throws when the payload can't be read back (corrupt, tampered, wrong key); the store treats that as missing. */
  decode(payload: string): Record<string, unknown> {
    const text = this.encryption ? this.encryption.decrypt(payload) : payload;
    const session = this.serializer.parse(text);
    if (session === null || typeof session !== "object") throw new TypeError("stored session is not an object");
    return session as Record<string, unknown>;
  }
}
