import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync } from "node:crypto";
import { configError } from "./errors.js";

const ALGORITHM = "aes-256-gcm";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_BYTES = 4;
/** sessionkit 0.2 on: the session id is authenticated with the ciphertext (GCM additional data). */
const BOUND = "skenc2.";
/** sessionkit 0.1: no additional data, so a ciphertext could be copied under another id. Read only. */
const UNBOUND = "skenc1.";
// A fixed salt is deliberate: the same secret must derive the same key in every process.
const KDF_SALT = "sessionkit/encryption/v1";

interface Key {
  id: Buffer;
  secret: Buffer;
}

/**
 * AES-256-GCM with key rotation: the first key encrypts, any key decrypts. Each ciphertext
 * carries a short key id so decryption picks its key directly instead of trying them all, and is
 * bound to its session id: moved under another id it fails to authenticate.
 * Format: `skenc2.` + base64url(keyId | iv | tag | ciphertext), with the id as additional data.
 */
export class Encryption {
  private readonly keys: Key[];
  private readonly acceptUnbound: boolean;

  constructor(keys: ReadonlyArray<string | Uint8Array>, options: { acceptUnbound: boolean }) {
    if (!Array.isArray(keys) || keys.length === 0) {
      throw configError("encryption.keys", "must be a non-empty array of keys");
    }
    this.keys = keys.map((key, index) => {
      const secret = deriveKey(key, index);
      return { secret, id: createHash("sha256").update(secret).digest().subarray(0, KEY_ID_BYTES) };
    });
    this.acceptUnbound = options.acceptUnbound;
  }

  encrypt(plaintext: string, sessionId: string): string {
    const key = this.keys[0] as Key;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key.secret, iv);
    cipher.setAAD(Buffer.from(sessionId, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return BOUND + Buffer.concat([key.id, iv, cipher.getAuthTag(), body]).toString("base64url");
  }

  /** Throws when the text is not ours, was tampered with or moved to another id, or its key is not configured. */
  decrypt(text: string, sessionId: string): string {
    let bound: boolean;
    if (text.startsWith(BOUND)) bound = true;
    else if (text.startsWith(UNBOUND)) {
      if (!this.acceptUnbound)
        throw new Error("session was encrypted in the unbound 0.1 format (acceptUnbound is false)");
      bound = false;
    } else throw new Error("not an encrypted session");
    const raw = Buffer.from(text.slice(BOUND.length), "base64url");
    if (raw.length < KEY_ID_BYTES + IV_BYTES + TAG_BYTES) throw new Error("encrypted session is truncated");
    const keyId = raw.subarray(0, KEY_ID_BYTES);
    const key = this.keys.find((k) => k.id.equals(keyId));
    if (!key) throw new Error("session was encrypted with a key that is not configured");
    const iv = raw.subarray(KEY_ID_BYTES, KEY_ID_BYTES + IV_BYTES);
    const tag = raw.subarray(KEY_ID_BYTES + IV_BYTES, KEY_ID_BYTES + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv(ALGORITHM, key.secret, iv);
    if (bound) decipher.setAAD(Buffer.from(sessionId, "utf8"));
    decipher.setAuthTag(tag);
    const body = raw.subarray(KEY_ID_BYTES + IV_BYTES + TAG_BYTES);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
  }
}

function deriveKey(key: string | Uint8Array, index: number): Buffer {
  if (typeof key === "string") {
    if (key.length < 16) throw configError(`encryption.keys[${index}]`, "must be at least 16 characters long");
    return scryptSync(key, KDF_SALT, 32);
  }
  if (key instanceof Uint8Array) {
    if (key.byteLength !== 32) throw configError(`encryption.keys[${index}]`, "must be exactly 32 bytes");
    return Buffer.from(key);
  }
  throw configError(`encryption.keys[${index}]`, "must be a string secret or a 32-byte Uint8Array");
}
