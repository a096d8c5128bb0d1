import { serviceGate } from "@sessionkit/conformance";
import { Cluster, Redis } from "ioredis";
import { createClient, createCluster } from "redis";
import type { TestServers } from "./servers.js";

const url = new URL(process.env.SESSIONKIT_REDIS_URL ?? "redis://127.0.0.1:6379");
export const REDIS_HOST = url.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
export const REDIS_PORT = Number(url.port || 6379);
/** This package's logical database on the shared Redis (others use 0, 11, 12, 13). */
export const REDIS_DB = 9;

/** A key prefix unique to one test file, suite and process: prefixes never start one another. */
export function testPrefix(label: string): string {
  return `sk-redis-${label}-${process.pid}:`;
}

/** Collects what clients report on their "error" events (a client with none may end the process). */
export const clientErrors: unknown[] = [];
const collect = (error: unknown) => clientErrors.push(error);

/** A connected node-redis client on the test database, at `port` (a proxy) or the shared Redis. */
export async function nodeRedis(options: { port?: number; disableOfflineQueue?: boolean } = {}) {
  const client = createClient({
    socket: { host: REDIS_HOST, port: options.port ?? REDIS_PORT, reconnectStrategy: () => 100 },
    database: REDIS_DB,
    ...(options.disableOfflineQueue ? { disableOfflineQueue: true } : {}),
  });
  client.on("error", collect);
  await client.connect();
  return client;
}

/** A connected ioredis client on the test database. */
export async function ioRedis(options: { port?: number; enableOfflineQueue?: boolean } = {}) {
  const client = new Redis({
    host: REDIS_HOST,
    port: options.port ?? REDIS_PORT,
    db: REDIS_DB,
    lazyConnect: true,
    retryStrategy: () => 100,
    ...(options.enableOfflineQueue === false ? { enableOfflineQueue: false } : {}),
  });
  client.on("error", collect);
  await client.connect();
  return client;
}

/** A connected node-redis cluster client over a test cluster. */
export async function nodeRedisCluster(cluster: TestServers) {
  const client = createCluster({
    rootNodes: cluster.ports.map((port) => ({ url: `redis://127.0.0.1:${port}` })),
    defaults: { socket: { reconnectStrategy: () => 100 } },
  });
  client.on("error", collect);
  await client.connect();
  return client;
}

/** A connected ioredis cluster client over a test cluster. */
export async function ioRedisCluster(cluster: TestServers) {
  const client = new Cluster(
    cluster.ports.map((port) => ({ host: "127.0.0.1", port })),
    { lazyConnect: true, clusterRetryStrategy: () => 100 },
  );
  client.on("error", collect);
  await client.connect();
  return client;
}

/** Skips loudly (or fails under SESSIONKIT_REQUIRE_SERVICES=1) when the shared Redis is down. */
export function redisGate(): Promise<string | false> {
  return serviceGate(`Redis at ${REDIS_HOST}:${REDIS_PORT}`, async () => {
    const client = createClient({ socket: { host: REDIS_HOST, port: REDIS_PORT, reconnectStrategy: false } });
    client.on("error", () => {});
    await client.connect();
    await client.destroy();
  });
}

/** Deletes every key of `prefix` on the test database (sessions and the braced keys next to them). */
export async function dropPrefix(client: Awaited<ReturnType<typeof nodeRedis>>, prefix: string): Promise<void> {
  const escaped = prefix.replace(/[*?[\]\\]/g, "\\$&");
  for (const match of [`${escaped}*`, `{${escaped}*`]) {
    for await (const keys of client.scanIterator({ MATCH: match, COUNT: 1000 })) {
      if (keys.length > 0) await client.unlink(keys);
    }
  }
}

/** The value, which a gate that did not skip guarantees is there. */
export function need<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("test setup: a client is missing although the service gate passed");
  return value;
}
