import { readOptions, rules, type SessionBackend } from "@sessionkit/core/kit";
import { RedisBackend } from "./backend.js";
import { driverFor, type RedisClient } from "./client.js";

export type { IoRedisClient, IoRedisCluster, NodeRedisClient, NodeRedisCluster, RedisClient } from "./client.js";

/** Options of `redisAdapter`. */
export interface RedisAdapterOptions {
  /**
   * Prepended to every key the adapter writes: the session lives at `<prefix><id>` (connect-redis's
   * layout), its metadata (or tombstone) at `{<prefix><id>}:m`, an owner's index at
   * `{<prefix><owner>}:o`. Apps sharing one Redis database need prefixes of which none starts
   * another. Not empty; no `{` or `}` (they would move keys out of the session's cluster slot).
   * Default: `"sess:"` (as connect-redis).
   */
  prefix?: string;
  /**
   * The COUNT hint of the SCAN that `length`, `all`, `ids` and `clear` walk each master with: keys
   * examined per round trip. Default: 1000.
   */
  scanCount?: number;
  /**
   * Declares that connect-redis 9 reads these sessions too (a migration in progress, or a way
   * back): the store then refuses the `encryption` and `serializer` options, which would write
   * payloads connect-redis can't read. The layout is connect-redis's whether or not this is set.
   * Default: false.
   */
  connectRedis?: boolean;
}

const PREFIX_SHAPE = { pattern: /^[^{}]+$/, shape: "a non-empty string without { or }" };

/**
 * A sessionkit backend over Redis or Redis Cluster, through a client you create, connect and
 * close yourself: node-redis 5 (`createClient`, `createCluster`) or ioredis 5 (`Redis`,
 * `Cluster`). Sessions expire natively (the key's own expiry), in connect-redis 9's layout.
 *
 * @throws SessionStoreError `ERR_SESSION_CONFIG` on a bad option or a client that can't be used
 */
export function redisAdapter(client: RedisClient, options?: RedisAdapterOptions): SessionBackend {
  const o = readOptions("redisAdapter", options, {
    prefix: rules.string("sess:", PREFIX_SHAPE),
    scanCount: rules.integer(1000, { min: 1, max: 1_000_000 }),
    connectRedis: rules.boolean(false),
  });
  return new RedisBackend(driverFor(client), o.prefix, o.scanCount, o.connectRedis);
}
