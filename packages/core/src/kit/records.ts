import type { SessionWrite } from "../backend.js";

/**
 * The stored expiry of a write or a touch: its `expiresAt`, capped at `createdAt + maxLifetimeMs`
 * when the store sets a lifetime (`maxLifetime`). `createdAt` is the stored record's creation time
 * (an update and a touch keep it) or, for a new record, the write's `now`.
 */
export function cappedExpiry(change: Pick<SessionWrite, "expiresAt" | "maxLifetimeMs">, createdAt: number): number {
  const { expiresAt, maxLifetimeMs } = change;
  return maxLifetimeMs === undefined ? expiresAt : Math.min(expiresAt, createdAt + maxLifetimeMs);
}
