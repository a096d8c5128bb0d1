import { createRequire } from "node:module";
import { call, driverError } from "./calls.js";
import type { DatabankLike, DatabankModule, DatabankSpec } from "./databank-shape.js";

/** A databank this adapter created and connected, and how to let it go. */
export interface OwnedBank {
  bank: DatabankLike;
  close(): Promise<void>;
}

/** The slice of a node_redis 0.10 client touched here. */
interface RedisClientLike {
  on(event: "error", listener: (error: unknown) => void): unknown;
  end(): void;
  retry_timer?: NodeJS.Timeout | null;
  stream?: { on(event: "error", listener: () => void): unknown; destroy(): void };
}

/**
 * Ends a node_redis 0.10 client for good. Its own `end()` strips the socket's listeners but
 * leaves a pending reconnect timer, whose connect error would then be thrown with no listener.
 */
function forceEnd(client: RedisClientLike): void {
  if (client.retry_timer) clearTimeout(client.retry_timer);
  client.retry_timer = null;
  client.end();
  client.stream?.on("error", () => {});
  client.stream?.destroy();
}

/** Creates a databank with `Databank.get(driver, params)` and connects it. */
export async function openBank(spec: DatabankSpec): Promise<OwnedBank> {
  const { default: databank } = (await import("databank")) as { default: DatabankModule };
  const bank = databank.Databank.get(spec.driver, spec.params ?? {});
  const clients: RedisClientLike[] = [];
  const connecting = call((cb) => captureRedisClients(spec.driver, clients, () => bank.connect({}, cb)));
  // databank-redis drops its own "error" listener once connected: with none left, the next
  // connection error (the server restarting) is an unhandled 'error' event that kills the
  // process. The listener below keeps the process up; the error itself still reaches every
  // command in flight, which fails with it, and the client reconnects on its own.
  for (const client of clients) client.on("error", () => {});
  const endClients = () => {
    for (const client of clients) forceEnd(client);
  };
  try {
    await connecting;
  } catch (error) {
    endClients(); // a failed connect would otherwise retry forever in the background
    throw driverError(error);
  }
  return {
    bank,
    async close() {
      try {
        await call((cb) => bank.disconnect(cb));
      } catch {
        // A graceful QUIT needs the server; when it is down, ending the socket is the release.
        endClients();
      }
    },
  };
}

/**
 * Runs `connect` while recording the redis clients databank-redis creates in it (it calls
 * `redis.createClient` synchronously inside `connect`). Resolves the same modules that
 * `Databank.get("redis")` loaded; for any other driver, or if they cannot be found, it just connects.
 */
function captureRedisClients(driver: string, into: RedisClientLike[], connect: () => void): void {
  let redis: { createClient: (...args: unknown[]) => RedisClientLike } | undefined;
  if (driver.toLowerCase() === "redis") {
    try {
      const fromDatabank = createRequire(createRequire(import.meta.url).resolve("databank"));
      const fromDriver = createRequire(fromDatabank.resolve("databank-redis"));
      redis = fromDriver("redis");
    } catch {
      redis = undefined;
    }
  }
  if (!redis) {
    connect();
    return;
  }
  const original = redis.createClient;
  redis.createClient = function (this: unknown, ...args: unknown[]) {
    const client = original.apply(this, args);
    into.push(client);
    return client;
  };
  try {
    connect();
  } finally {
    redis.createClient = original;
  }
}
