import { createHash } from "node:crypto";

/**
 * The Lua scripts, one per operation that reads or changes several keys of one session. Every
 * key a script touches is passed in KEYS and, but for the owner set, shares the session's cluster
 * hash slot (`<prefix><sid>` and `{<prefix><sid>}:m`). The owner set is passed (as the optional
 * last key) only on a standalone Redis; in a cluster the `index` script updates it alongside.
 * Their SHA1 is computed once, here; calls go by EVALSHA.
 *
 * KEYS[1] session: `<prefix><sid>`, the payload string, expiring at the session's expiry
 * KEYS[2] metadata: `{<prefix><sid>}:m`, the string `<createdAt> <lastActiveAt>[ <owner>]`
 *         expiring with the session, or after a destroy the tombstone `t <until>` expiring then
 * KEYS[3] owner set, standalone only: `{<prefix><owner>}:o`, ids scored by expiry
 *
 * Redis does not roll a script back when a command in it fails: what can fail (the owner set
 * holding another type) runs before the first write. Times travel as the decimal strings the
 * caller sent; the metadata keeps them as they came.
 */
export interface Script {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

// The owner set's update, shared by upsert and touch (standalone) and index (cluster). Expired
// members are dropped when a new one comes in (what makes the set grow); the set lives as long as
// its longest member (GT; NX for a set that has no expiry yet).
const INDEX_FN = `
local function index(key, member, score, now)
  if redis.call('ZADD', key, score, member) == 1 then redis.call('ZREMRANGEBYSCORE', key, '-inf', now) end
  if redis.call('PEXPIREAT', key, score, 'GT') == 0 then redis.call('PEXPIREAT', key, score, 'NX') end
end
`;

/**
 * get: {payload, expiry (PEXPIRETIME; -1: none), metadata or nil}, or nil. Another type under the
 * session key reads as an empty payload: the store treats it as unreadable (missing, with a
 * warning), and the next write replaces it. Another type under the metadata key reads as none.
 */
const GET = `
local payload = redis.pcall('GET', KEYS[1])
if not payload then return false end
if type(payload) == 'table' then payload = '' end
local m = redis.pcall('GET', KEYS[2])
if type(m) ~= 'string' then m = false end
return {payload, redis.call('PEXPIRETIME', KEYS[1]), m}
`;

/**
 * upsert. ARGV: payload, expiresAt, now, maxLifetimeMs or '', id, [owner]. 0 when refused by a
 * tombstone live at now (an unreadable one counts as live: a logout stays final), else 1. The
 * creation time survives only while the session key exists (metadata may outlive a session
 * that connect-redis deleted); unreadable metadata is replaced.
 */
const UPSERT = `
local now = tonumber(ARGV[3])
local m = redis.pcall('GET', KEYS[2])
local created = ARGV[3]
if type(m) == 'string' then
  if string.sub(m, 1, 2) == 't ' then
    local u = tonumber(string.sub(m, 3))
    if not u or u > now then return 0 end
  else
    local c = string.match(m, '^(%d+) %d+')
    if c and redis.call('EXISTS', KEYS[1]) == 1 then created = c end
  end
end
local expires = tonumber(ARGV[2])
if ARGV[4] ~= '' then expires = math.min(expires, tonumber(created) + tonumber(ARGV[4])) end
if KEYS[3] then index(KEYS[3], ARGV[5], expires, now) end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', expires)
if ARGV[6] then
  redis.call('SET', KEYS[2], created .. ' ' .. ARGV[3] .. ' ' .. ARGV[6], 'PXAT', expires)
else
  redis.call('SET', KEYS[2], created .. ' ' .. ARGV[3], 'PXAT', expires)
end
return 1
`;

/**
 * touch. ARGV: expiresAt, now, maxLifetimeMs or '', id, [owner]. A no-op (0) on a missing session
 * or one expired at now. No tombstone to check: a live tombstone means the session key is gone
 * (destroy deletes it as it writes one, upsert refuses while it lives). A session without
 * metadata (written by connect-redis) gets it here: created now, owned by the touch's owner.
 */
const TOUCH = `
local now = tonumber(ARGV[2])
local at = redis.call('PEXPIRETIME', KEYS[1])
if at == -2 or (at ~= -1 and at <= now) then return 0 end
local m = redis.pcall('GET', KEYS[2])
local created, owner
if type(m) == 'string' then created, owner = string.match(m, '^(%d+) %d+ ?(.*)$') end
if not created then created, owner = ARGV[2], ARGV[5] end
if owner == '' then owner = nil end
local expires = tonumber(ARGV[1])
if ARGV[3] ~= '' then expires = math.min(expires, tonumber(created) + tonumber(ARGV[3])) end
if KEYS[3] and owner == ARGV[5] then index(KEYS[3], ARGV[4], expires, now) end
redis.call('PEXPIREAT', KEYS[1], expires)
if owner then
  redis.call('SET', KEYS[2], created .. ' ' .. ARGV[2] .. ' ' .. owner, 'PXAT', expires)
else
  redis.call('SET', KEYS[2], created .. ' ' .. ARGV[2], 'PXAT', expires)
end
return 1
`;

/** destroy with a tombstone, where a session is stored (a missing id stays missing). ARGV: until. */
const DESTROY = `
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], 't ' .. ARGV[1], 'PXAT', ARGV[1])
return 1
`;

/**
 * destroy one session of an owner, only while its metadata names that owner. ARGV: owner,
 * [until]. 1 when a session was ended, else 0.
 */
const DESTROY_OWNED = `
local m = redis.pcall('GET', KEYS[2])
if type(m) ~= 'string' then return 0 end
local _, owner = string.match(m, '^(%d+) %d+ (.*)$')
if owner ~= ARGV[1] then return 0 end
local ended = redis.call('DEL', KEYS[1])
if ended == 1 and ARGV[2] then
  redis.call('SET', KEYS[2], 't ' .. ARGV[2], 'PXAT', ARGV[2])
else
  redis.call('DEL', KEYS[2])
end
return ended
`;

/** Cluster only: the owner set's update, sent alongside upsert and touch. KEYS: owner set. ARGV: id, expiry, now. */
const INDEX = `
index(KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
return 1
`;

function script(name: string, body: string, withIndex = false): Script {
  const source = withIndex ? INDEX_FN + body : body;
  return { name, source, sha: createHash("sha1").update(source).digest("hex") };
}

export const scripts = {
  get: script("get", GET),
  upsert: script("upsert", UPSERT, true),
  touch: script("touch", TOUCH, true),
  destroy: script("destroy", DESTROY),
  destroyOwned: script("destroyOwned", DESTROY_OWNED),
  index: script("index", INDEX, true),
} as const;
