import { createRequire } from "node:module";
import { afterAll } from "vitest";
import type { DatabankLike } from "../src/index.js";

// databank is CommonJS without types.
const require = createRequire(import.meta.url);
export const { Databank } = require("databank") as { Databank: { get(driver: string, params: object): DatabankLike } };

export function bankCall<T = unknown>(start: (cb: (error: unknown, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value as T))));
}

/** databank-redis's driver class, loaded the way `Databank.get("redis")` loads it. */
export function databankRedisClass(): unknown {
  return createRequire(require.resolve("databank"))("databank-redis");
}

/** A connected bank of databank's memory driver. */
export async function memoryBank(): Promise<DatabankLike> {
  const bank = Databank.get("memory", {});
  await bankCall((cb) => bank.connect({}, cb));
  return bank;
}

/**
 * A maker of connected memory banks for one test file: each is disconnected once the file's tests
 * are done (a bank a test disconnected itself is passed over).
 */
export function memoryBanks(): () => Promise<DatabankLike> {
  const banks: DatabankLike[] = [];
  afterAll(async () => {
    for (const bank of banks) await bankCall((cb) => bank.disconnect(cb)).catch(() => {});
  });
  return async () => {
    const bank = await memoryBank();
    banks.push(bank);
    return bank;
  };
}

/** A stored value, or undefined when the key is missing. */
export function rawRead(bank: DatabankLike, type: string, id: string): Promise<unknown> {
  return bankCall((cb) => bank.read(type, id, cb)).catch((error: { name?: string }) => {
    if (error.name === "NoSuchThingError") return undefined;
    throw error;
  });
}

/** Every value of a type. */
export async function scanAll(bank: DatabankLike, type: string): Promise<unknown[]> {
  const values: unknown[] = [];
  await bankCall((cb) => bank.scan(type, (v) => values.push(v), cb));
  return values;
}

/** A logger that keeps its warnings. */
export function warnings() {
  const lines: Array<{ obj: Record<string, unknown>; msg: string | undefined }> = [];
  return {
    lines,
    logger: { warn: (obj: object, msg?: string) => lines.push({ obj: obj as Record<string, unknown>, msg }) },
  };
}
