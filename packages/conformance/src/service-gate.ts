/**
 * Probes a service a suite needs. Resolves `false` when it answers, or a skip reason when it
 * doesn't; the reason is printed loudly, because a skipped suite proves nothing. Under
 * `SESSIONKIT_REQUIRE_SERVICES=1` (CI) an unreachable service rejects instead, failing the run.
 */
export async function serviceGate(
  name: string,
  probe: () => Promise<unknown>,
  timeoutMs = 5000,
): Promise<string | false> {
  try {
    await withTimeout(probe(), timeoutMs);
    return false;
  } catch (error) {
    const reason = `${name} is unreachable: ${error instanceof Error ? error.message : String(error)}`;
    if (process.env.SESSIONKIT_REQUIRE_SERVICES === "1") {
      throw new Error(`${reason} (SESSIONKIT_REQUIRE_SERVICES=1 forbids skipping)`, { cause: error });
    }
    console.warn(`\n!!!!! SKIPPING the ${name} tests. ${reason}. Start it, or these tests prove nothing. !!!!!\n`);
    return reason;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
