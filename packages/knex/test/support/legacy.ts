import { write } from "@sessionkit/conformance";
import type { SessionkitStore } from "@sessionkit/core";
import type { SessionBackend } from "@sessionkit/core/kit";
import type session from "express-session";
import { expect } from "vitest";

/** Helpers of the legacy-*.test.ts files: the same table used by another store and by sessionkit. */
export const HOUR = 3_600_000;

/** A callback API call as a promise. */
export const call = <T>(fn: (cb: (err: unknown, value?: T) => void) => void) =>
  new Promise<T | undefined>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));

/** An express-session session (as the other store is handed it) expiring at `expiresAt`. */
export const sessionAt = (expiresAt: number, user = "ann") =>
  ({
    cookie: { originalMaxAge: HOUR, expires: new Date(expiresAt).toISOString(), httpOnly: true, path: "/" },
    user,
  }) as never;

/**
 * A session live or expired for one store is so for the other, two minutes either side; a touch by
 * sessionkit is what the other store sees, and a touch after expiry revives nothing.
 */
export async function expectSameLiveness(
  backend: SessionBackend,
  ours: SessionkitStore<unknown>,
  theirs: session.Store,
) {
  const now = Date.now();
  await backend.upsert(write("ours-live", now + 120_000, { now }));
  await backend.upsert(write("ours-gone", now - 120_000, { now: now - HOUR }));
  expect(await call((cb) => theirs.get("ours-live", cb))).toMatchObject({ cookie: {} });
  expect(await call((cb) => theirs.get("ours-gone", cb))).toBeFalsy();
  await call((cb) => theirs.set("theirs-live", sessionAt(now + 120_000), cb));
  await call((cb) => theirs.set("theirs-gone", sessionAt(now - 120_000), cb));
  expect(await ours.get("theirs-live")).toMatchObject({ user: "ann" });
  expect(await ours.get("theirs-gone")).toBeNull();
  await backend.touch({ id: "theirs-live", expiresAt: now - 60_000, now, owner: null });
  expect(await call((cb) => theirs.get("theirs-live", cb))).toBeFalsy();
}
