import {
  type BackendCapabilities,
  ErrorCodes,
  type OwnerDestroy,
  type SessionBackend,
  type SessionRecord,
  SessionStoreError,
  type SessionTouch,
  type SessionWrite,
  type Tombstone,
} from "@sessionkit/core/kit";
import type { Driver, NodeSender } from "./client.js";
import { type Script, scripts } from "./scripts.js";

/** The expiry reported for a session key without a TTL (connect-redis's `disableTTL`): the last moment a Date holds. */
export const NO_EXPIRY = 8.64e15;

const idProblem = (id: string) =>
  id.includes("{") || id.includes("}")
    ? "must not contain { or } (the Redis adapter keeps each session's keys in one cluster slot by a {hash tag})"
    : undefined;

const toVoid = (): void => undefined;
const toBoolean = (reply: unknown): boolean => Number(reply) === 1;
const toNumber = (reply: unknown): number => Number(reply);
const isNoScript = (error: unknown) => error instanceof Error && error.message.startsWith("NOSCRIPT");
/** Redis glob patterns treat these as special; a prefix matches itself only when they are escaped. */
const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, "\\$&");

/**
 * A session record from the get script's reply (see scripts.ts), or null when there is none.
 * Metadata that is absent (a session connect-redis wrote) or unreadable leaves out the creation
 * and activity times and the owner.
 */
function toRecord(id: string, reply: unknown): SessionRecord | null {
  if (reply === null || reply === undefined) return null;
  const [payload, at, meta] = reply as [string, number | string, string | null | undefined];
  const expiresAt = Number(at);
  const record: { -readonly [K in keyof SessionRecord]: SessionRecord[K] } = {
    id,
    payload,
    expiresAt: expiresAt === -1 ? NO_EXPIRY : expiresAt,
    owner: null,
  };
  const first = meta ? meta.indexOf(" ") : -1;
  if (first <= 0 || !meta) return record;
  const second = meta.indexOf(" ", first + 1);
  const createdAt = Number(meta.slice(0, first));
  const lastActiveAt = Number(second < 0 ? meta.slice(first + 1) : meta.slice(first + 1, second));
  if (!Number.isSafeInteger(createdAt) || !Number.isSafeInteger(lastActiveAt)) return record; // a tombstone, or garbage
  record.createdAt = createdAt;
  record.lastActiveAt = lastActiveAt;
  if (second > 0 && second < meta.length - 1) record.owner = meta.slice(second + 1);
  return record;
}

/**
 * Sessions in Redis: `<prefix><id>` holds the payload and expires at the session's expiry;
 * `{<prefix><id>}:m` (same slot) its metadata, or its tombstone once destroyed; and
 * `{<prefix><owner>}:o` a sorted set of the owner's ids by expiry. See README "Key layout".
 */
export class RedisBackend implements SessionBackend {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  private readonly pattern: string;
  private readonly leftovers: string;

  constructor(
    private readonly driver: Driver,
    private readonly prefix: string,
    private readonly scanCount: number,
    connectRedis: boolean,
  ) {
    this.name = `redis:${driver.kind}`;
    this.capabilities = {
      owners: true,
      tombstones: true,
      createdAt: true,
      expiry: "native",
      idProblem,
      ...(connectRedis ? { legacy: "connect-redis" } : {}),
    };
    this.pattern = `${escapeGlob(prefix)}*`;
    this.leftovers = `{${escapeGlob(prefix)}*}:[mo]`;
  }

  /** Checks that every master runs Redis 7 or later and loads the scripts there. Idempotent. */
  async init(): Promise<void> {
    // An ioredis cluster learns its masters on connecting: a routed command waits for that.
    if (this.driver.cluster) await this.driver.send(this.prefix, ["PING"]);
    const masters = await this.driver.masters();
    await Promise.all(
      masters.map(async (node) => {
        const info = String(await node(["INFO", "server"]));
        const major = Number(/redis_version:(\d+)/.exec(info)?.[1]);
        if (major < 7) {
          throw new SessionStoreError(
            ErrorCodes.UNSUPPORTED,
            `sessionkit: ${this.name} needs Redis 7 or later (PEXPIRETIME, PXAT, EXPIRE GT), a master runs ${major}`,
          );
        }
        for (const script of Object.values(scripts)) await node(["SCRIPT", "LOAD", script.source]);
      }),
    );
  }

  get(id: string, _now: number): Promise<SessionRecord | null> {
    const key = this.prefix + id;
    return this.eval(scripts.get, key, ["EVALSHA", scripts.get.sha, "2", key, `{${key}}:m`], (reply) =>
      toRecord(id, reply),
    );
  }

  upsert(write: SessionWrite): Promise<boolean> {
    const { id, expiresAt, now, maxLifetimeMs } = write;
    const lifetime = maxLifetimeMs === undefined ? "" : String(maxLifetimeMs);
    const args = [write.payload, String(expiresAt), String(now), lifetime, id];
    return this.ownedScript(scripts.upsert, id, write.owner, args, expiresAt, now, toBoolean);
  }

  touch(touch: SessionTouch): Promise<void> {
    const { id, expiresAt, now, maxLifetimeMs } = touch;
    const lifetime = maxLifetimeMs === undefined ? "" : String(maxLifetimeMs);
    const args = [String(expiresAt), String(now), lifetime, id];
    return this.ownedScript(scripts.touch, id, touch.owner, args, expiresAt, now, toVoid);
  }

  destroy(id: string, tombstone?: Tombstone): Promise<void> {
    const key = this.prefix + id;
    // Without tombstones (the store's tombstoneTtl 0) the metadata goes too, and with it a
    // tombstone another store over the same prefix may have left.
    if (!tombstone) return this.driver.send(key, ["DEL", key, `{${key}}:m`]).then(toVoid);
    const args = ["EVALSHA", scripts.destroy.sha, "2", key, `{${key}}:m`, String(tombstone.until)];
    return this.eval(scripts.destroy, key, args, toVoid);
  }

  async destroyByOwner(owner: string, options: OwnerDestroy = {}): Promise<number> {
    const ownerKey = this.ownerKey(owner);
    const ids = ((await this.driver.send(ownerKey, ["ZRANGE", ownerKey, "0", "-1"])) as string[]).filter(
      (id) => id !== options.except,
    );
    if (ids.length === 0) return 0;
    const until = options.tombstone ? [String(options.tombstone.until)] : [];
    const ended = await Promise.all(
      ids.map((id) => {
        const key = this.prefix + id;
        const args = ["EVALSHA", scripts.destroyOwned.sha, "2", key, `{${key}}:m`, owner, ...until];
        return this.eval(scripts.destroyOwned, key, args, toNumber);
      }),
    );
    // Ended or owned by someone else now: either way no longer this owner's.
    await this.driver.send(ownerKey, ["ZREM", ownerKey, ...ids]);
    return ended.reduce((sum, n) => sum + n, 0);
  }

  async listByOwner(owner: string, now: number): Promise<SessionRecord[]> {
    const ownerKey = this.ownerKey(owner);
    const ids = (await this.driver.send(ownerKey, ["ZRANGE", ownerKey, `(${now}`, "+inf", "BYSCORE"])) as string[];
    const records = await Promise.all(ids.map((id) => this.get(id, now)));
    return records.filter((r): r is SessionRecord => r !== null && r.owner === owner && r.expiresAt > now);
  }

  /** Deletes this prefix's keys (sessions, metadata, tombstones, owner sets) on every master, by SCAN. */
  async clear(): Promise<void> {
    for (const node of await this.driver.masters()) {
      for (const match of [this.pattern, this.leftovers]) {
        for await (const keys of this.scan(node, match, undefined)) {
          await Promise.all(keys.map((key) => this.driver.send(key, ["UNLINK", key])));
        }
      }
    }
  }

  /** Redis expires sessions, metadata and tombstones by itself; owner sets trim themselves on writes. */
  deleteExpired(_now: number, _limit: number): Promise<number> {
    return Promise.resolve(0);
  }

  async count(now: number): Promise<number> {
    let live = 0;
    for (const node of await this.driver.masters()) {
      for await (const keys of this.scan(node, this.pattern, "string")) {
        const expiries = await Promise.all(keys.map((key) => this.driver.send(key, ["PEXPIRETIME", key])));
        for (const at of expiries) if (Number(at) === -1 || Number(at) > now) live++;
      }
    }
    return live;
  }

  async *stream(now: number): AsyncIterable<SessionRecord> {
    const skip = this.prefix.length;
    for (const node of await this.driver.masters()) {
      for await (const keys of this.scan(node, this.pattern, "string")) {
        const records = await Promise.all(keys.map((key) => this.get(key.slice(skip), now)));
        for (const record of records) if (record !== null && record.expiresAt > now) yield record;
      }
    }
  }

  /** Nothing to release: the client is the caller's. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private ownerKey(owner: string): string {
    return `{${this.prefix}${owner}}:o`;
  }

  /**
   * Runs upsert or touch on the session's keys, the owner (when there is one) last. Its owner set
   * is in the same script on a standalone Redis; in a cluster (another slot) the `index` script
   * updates it alongside, not after: its score may then exceed a capped expiry (harmless).
   */
  private ownedScript<T>(
    script: Script,
    id: string,
    owner: string | null,
    args: string[],
    expiresAt: number,
    now: number,
    parse: (reply: unknown) => T,
  ): Promise<T> {
    const key = this.prefix + id;
    const ownerKey = owner === null ? undefined : this.ownerKey(owner);
    const inline = ownerKey !== undefined && !this.driver.cluster;
    const command = inline
      ? ["EVALSHA", script.sha, "3", key, `{${key}}:m`, ownerKey, ...args, owner as string]
      : ["EVALSHA", script.sha, "2", key, `{${key}}:m`, ...args];
    if (ownerKey === undefined || inline) return this.eval(script, key, command, parse);
    command.push(owner as string);
    const index = ["EVALSHA", scripts.index.sha, "1", ownerKey, id, String(expiresAt), String(now)];
    return Promise.all([
      this.eval(script, key, command, parse),
      this.eval(scripts.index, ownerKey, index, toVoid),
    ]).then(([result]) => result);
  }

  /**
   * Runs a script by its SHA1; on NOSCRIPT (a restarted, failed-over or flushed server) sends its
   * text once, which also caches it there again.
   */
  private eval<T>(script: Script, key: string, args: string[], parse: (reply: unknown) => T): Promise<T> {
    return this.driver.send(key, args).then(parse, (error: unknown) => {
      if (!isNoScript(error)) throw error;
      args[0] = "EVAL";
      args[1] = script.source;
      return this.driver.send(key, args).then(parse);
    });
  }

  /**
   * One node's keys matching `match` (of `type`, when given), page by page, each once: SCAN may
   * repeat a key, and keys whose id has a brace are not this adapter's.
   */
  private async *scan(node: NodeSender, match: string, type: string | undefined): AsyncIterable<string[]> {
    const seen = new Set<string>();
    const typed = type === undefined ? [] : ["TYPE", type];
    let cursor = "0";
    const page = ["MATCH", match, ...typed, "COUNT", String(this.scanCount)];
    do {
      const [next, keys] = (await node(["SCAN", cursor, ...page])) as [string, string[]];
      cursor = String(next);
      const fresh = keys.filter((key) => !seen.has(key) && seen.add(key) && (type === undefined || !/[{}]/.test(key)));
      if (fresh.length > 0) yield fresh;
    } while (cursor !== "0");
  }
}
