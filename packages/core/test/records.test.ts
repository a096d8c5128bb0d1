import { cappedExpiry } from "@sessionkit/core/kit";
import { describe, expect, it } from "vitest";

const T0 = Date.UTC(2030, 0, 1);
const HOUR = 3_600_000;

describe("cappedExpiry", () => {
  it("is the change's expiry when no lifetime is set", () => {
    expect(cappedExpiry({ expiresAt: T0 + 5 * HOUR }, T0 - 100 * HOUR)).toBe(T0 + 5 * HOUR);
  });

  it("caps the expiry at createdAt + maxLifetimeMs, and leaves an earlier one as it is", () => {
    expect(cappedExpiry({ expiresAt: T0 + 5 * HOUR, maxLifetimeMs: 2 * HOUR }, T0)).toBe(T0 + 2 * HOUR);
    expect(cappedExpiry({ expiresAt: T0 + HOUR, maxLifetimeMs: 2 * HOUR }, T0)).toBe(T0 + HOUR);
    // A session created long ago is capped in the past: the store then treats it as expired.
    expect(cappedExpiry({ expiresAt: T0 + HOUR, maxLifetimeMs: HOUR }, T0 - 2 * HOUR)).toBe(T0 - HOUR);
  });
});
