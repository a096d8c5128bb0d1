import { createHash } from "node:crypto";

/**
 * The Lua scripts, one per operation that changes several keys of one session. Every key a
 * script touches is passed in KEYS and shares the session's cluster hash slot (`<prefix><sid>`
 * and `{<prefix><sid>}:m|:t`), except the owner set, which is passed (as the optional last key)
 * only on a standalone Redis. Their SHA1 is computed once, here; calls go by EVALSHA.
 *
 * KEYS[1] session (`<prefix><sid>`, the payload string with the expiry as its TTL)
 * KEYS[2] metadata hash (`{<prefix><sid>}:m`: c = createdAt, a = lastActiveAt, o = owner)
 * KEYS[3] tombstone (`{<prefix><sid>}:t`: the `until` in ms, expiring at it)
 * KEYS[4] owner set, standalone only (`{<prefix><owner>}:o`: members ids, scores expiries)
 *
 * Redis does not roll a script back when a command in it fails: what can fail (the owner set
 * holding another type) runs before the first write.
 */
export interface Script {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

// Shared helpers. `metaOf` reads fields of a metadata hash, or nothing when it is unreadable
// (another type under the key): corrupt metadata reads as absent. `tombstoned` is true while a
// tombstone lives at `now` (an unreadable one counts as live: a logout stays final).
const HELPERS = `
local function metaOf(key, ...)
  local r = redis.pcall('HMGET', key, ...)
  if r.err then return {} end
  return r
end
local function tombstoned(key, now)
  local t = redis.pcall('GET', key)
  if not t then return false end
  local u = type(t) == 'string' and tonumber(t)
  return not u or u > now
end
local function index(key, member, score, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  redis.call('ZADD', key, score, member)
  redis.call('PEXPIREAT', key, score, 'NX')
  redis.call('PEXPIREAT', key, score, 'GT')
end
`;

/**
 * get: {payload, expiry (PEXPIRETIME: -1 none), createdAt, lastActiveAt, owner}, or nil. Another
 * type under the session key reads as an empty payload: the store treats it as unreadable
 * (missing, with a warning), and the next write replaces it.
 */
const GET = `
local payload = redis.pcall('GET', KEYS[1])
if not payload then return false end
if type(payload) == 'table' then payload = '' end
local m = metaOf(KEYS[2], 'c', 'a', 'o')
return {payload, redis.call('PEXPIRETIME', KEYS[1]), m[1], m[2], m[3]}
`;

/**
 * upsert. ARGV: payload, expiresAt, now, maxLifetimeMs or '', id, [owner]. 0 when refused by a
 * live tombstone, else 1. createdAt survives only when the session key still exists.
 */
const UPSERT = `
local now = tonumber(ARGV[3])
if redis.call('EXISTS', KEYS[3]) == 1 then
  if tombstoned(KEYS[3], now) then return 0 end
  redis.call('DEL', KEYS[3])
end
local created = now
if redis.call('EXISTS', KEYS[1]) == 1 then
  created = tonumber(metaOf(KEYS[2], 'c')[1]) or now
end
local expires = tonumber(ARGV[2])
if ARGV[4] ~= '' then expires = math.min(expires, created + tonumber(ARGV[4])) end
if KEYS[4] then index(KEYS[4], ARGV[5], expires, now) end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', expires)
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'c', created, 'a', ARGV[3])
if ARGV[6] then redis.call('HSET', KEYS[2], 'o', ARGV[6]) end
redis.call('PEXPIREAT', KEYS[2], expires)
return 1
`;

/**
 * touch. ARGV: expiresAt, now, maxLifetimeMs or '', id, [owner]. A no-op (0) on a missing,
 * tombstoned or expired (at `now`) session. A session without metadata (written by
 * connect-redis) gets it here, created now.
 */
const TOUCH = `
local now = tonumber(ARGV[2])
if tombstoned(KEYS[3], now) then return 0 end
local at = redis.call('PEXPIRETIME', KEYS[1])
if at == -2 or (at ~= -1 and at <= now) then return 0 end
local m = metaOf(KEYS[2], 'c', 'o')
local created = tonumber(m[1])
local expires = tonumber(ARGV[1])
if ARGV[3] ~= '' then expires = math.min(expires, (created or now) + tonumber(ARGV[3])) end
if KEYS[4] and ARGV[5] and (not created or m[2] == ARGV[5]) then index(KEYS[4], ARGV[4], expires, now) end
redis.call('PEXPIREAT', KEYS[1], expires)
if created then
  redis.call('HSET', KEYS[2], 'a', ARGV[2])
else
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'c', ARGV[2], 'a', ARGV[2])
  if ARGV[5] then redis.call('HSET', KEYS[2], 'o', ARGV[5]) end
end
redis.call('PEXPIREAT', KEYS[2], expires)
return 1
`;

/** destroy with a tombstone, where a session is stored (a missing id stays missing). ARGV: until. */
const DESTROY = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SET', KEYS[3], ARGV[1], 'PXAT', ARGV[1])
return 1
`;

/**
 * destroy one session of an owner: only when its metadata still names that owner. ARGV: owner,
 * [until]. 1 when a session was ended, else 0.
 */
const DESTROY_OWNED = `
if metaOf(KEYS[2], 'o')[1] ~= ARGV[1] then return 0 end
local existed = redis.call('EXISTS', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
if existed == 1 and ARGV[2] then redis.call('SET', KEYS[3], ARGV[2], 'PXAT', ARGV[2]) end
return existed
`;

/** Cluster only: the owner set's update, sent alongside upsert and touch. KEYS: owner set. ARGV: id, expiry, now. */
const INDEX = `
index(KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
return 1
`;

function script(name: string, body: string): Script {
  const source = HELPERS + body;
  return { name, source, sha: createHash("sha1").update(source).digest("hex") };
}

export const scripts = {
  get: script("get", GET),
  upsert: script("upsert", UPSERT),
  touch: script("touch", TOUCH),
  destroy: script("destroy", DESTROY),
  destroyOwned: script("destroyOwned", DESTROY_OWNED),
  index: script("index", INDEX),
} as const;
