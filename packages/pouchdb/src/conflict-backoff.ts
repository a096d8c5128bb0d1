/** The wait before the second retry; each later retry doubles it, up to the ceiling. */
const FIRST_WAIT_MS = 4;
const LONGEST_WAIT_MS = 256;

/**
 * Milliseconds to wait before conflict retry number `retry` (1 for the first retry).
 *
 * The first retry goes at once: its usual cause is a stale cached revision, not a rival writer.
 * After that, two processes writing one session are colliding, and retrying at once lets the
 * faster one (which has the fresh revision cached) win every round until the slower one runs
 * out of retries. A growing wait with random jitter lets the rival's burst finish and stops the
 * two from retrying in step. Half the wait is fixed, so ten retries always span at least half
 * a second.
 */
export function conflictBackoff(retry: number, random: () => number = Math.random): number {
  if (retry <= 1) return 0;
  const wait = Math.min(LONGEST_WAIT_MS, FIRST_WAIT_MS * 2 ** (retry - 2));
  return wait / 2 + random() * (wait / 2);
}

/** Resolves after `ms` milliseconds (at once, without a timer, for 0). */
export function pause(ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => setTimeout(resolve, ms));
}
