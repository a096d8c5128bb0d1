// Redis: sessionkit's redisAdapter against node-redis doing the minimal work of a store (the
// baseline), a control copy of it, the floor of a two-key layout, and connect-redis 9, each on a
// client of its own. Its stores and commands serve the end-to-end section too (e2e.ts).
import { createStore } from "@sessionkit/core";
import { redisAdapter } from "@sessionkit/redis";
import { RedisStore } from "connect-redis";
import { createClient } from "redis";
import { type Benchmark, type Contender, compareSection, HOUR, storeContender } from "./harness.js";

const URL = process.env.SESSIONKIT_REDIS_URL ?? "redis://127.0.0.1:6379";
export const PREFIX = "skbench:";
const SIZES = { small: { ops: 10_000, rounds: 5 }, large: { ops: 50_000, rounds: 7 } } as const;

export type Client = ReturnType<typeof createClient>;
export async function connect(database?: number): Promise<Client> {
  const client = createClient({ url: URL, ...(database === undefined ? {} : { database }) });
  client.on("error", () => {}); // a lost connection fails the calls in flight, which fails the section
  await client.connect();
  return client;
}

/**
 * GET + JSON.parse, SET … PXAT, PEXPIREAT, DEL: what any store must send, and nothing more. With
 * `metadata`, the floor of a store that keeps a second key `{<prefix><id>}:m` beside the session:
 * both keys' plain commands sent in the same tick (node-redis pipelines them: one round trip), no
 * script, no atomicity. set = SET both PXAT; get = MGET both; touch = PEXPIREAT both; destroy =
 * DEL + SET of a tombstone PX.
 */
export function raw(name: string, client: Client, prefix: string, metadata = false): Contender {
  const at = (s: { cookie: { expires: Date } }) => String(s.cookie.expires.getTime());
  const meta = (id: string) => `{${prefix}${id}}:m`;
  const send = (command: string[], second: string[]) =>
    metadata ? Promise.all([client.sendCommand(command), client.sendCommand(second)]) : client.sendCommand(command);
  return {
    name,
    ops: {
      set: (id, s) =>
        send(
          ["SET", prefix + id, JSON.stringify(s), "PXAT", at(s)],
          ["SET", meta(id), `${Date.now()} ${Date.now()} ${at(s)}`, "PXAT", at(s)],
        ),
      get: async (id) => {
        const reply = await client.sendCommand(metadata ? ["MGET", prefix + id, meta(id)] : ["GET", prefix + id]);
        const value = (Array.isArray(reply) ? reply[0] : reply) as string | null;
        return value === null ? null : JSON.parse(value);
      },
      touch: (id, s) => send(["PEXPIREAT", prefix + id, at(s)], ["PEXPIREAT", meta(id), at(s)]),
      destroy: (id) => send(["DEL", prefix + id], ["SET", meta(id), `t ${Date.now() + HOUR}`, "PX", String(HOUR)]),
    },
    close: () => client.close(),
  };
}

/**
 * Runs `measure` between two deletions of the keys a Redis benchmark writes: by default every key
 * under PREFIX (this section and e2e.ts); databank.ts names its own database and patterns.
 */
export async function cleanAround<T>(
  measure: () => Promise<T>,
  { database, match = [`*${PREFIX}*`] }: { database?: number; match?: string[] } = {},
): Promise<T> {
  const admin = await connect(database);
  const clean = async () => {
    for (const pattern of match) {
      for await (const keys of admin.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
        if (keys.length > 0) await admin.del(keys);
      }
    }
  };
  try {
    await clean();
    return await measure();
  } finally {
    await clean().catch(() => {});
    await admin.close();
  }
}

/** sessionkit (createStore(redisAdapter(client)), its scripts loaded) or connect-redis 9, under `prefix`. */
export async function redisStore(name: string, client: Client, prefix: string): Promise<object> {
  if (name === "connect-redis") return new RedisStore({ client, prefix });
  const store = createStore(redisAdapter(client, { prefix }), { gcInterval: 0 });
  await store.length(); // init: scripts loaded before the first timed call
  return store;
}

export const bench: Benchmark = (ctx) =>
  cleanAround(async () => {
    const store = async (name: string, prefix: string) => {
      const client = await connect();
      return storeContender(name, await redisStore(name, client, PREFIX + prefix), () => client.close());
    };
    const contenders = [
      raw("raw node-redis", await connect(), `${PREFIX}raw:`),
      raw("control: raw node-redis", await connect(), `${PREFIX}ctl:`),
      raw("raw + metadata key", await connect(), `${PREFIX}meta:`, true),
      await store("sessionkit", "sk:"),
      await store("connect-redis", "cr:"),
    ];
    const options = { ...SIZES[ctx.size], concurrency: 8 };
    return [
      await compareSection("Redis (node-redis 5)", contenders, options, ctx.log, {
        setup: "one client per contender",
        more: [
          "raw: sendCommand of GET (+ JSON.parse), SET PXAT (+ JSON.stringify), PEXPIREAT, DEL: one command per operation, no metadata, no tombstone. control: the same code under another prefix.",
          "raw + metadata key: the raw commands plus the same plain command on a second key {<prefix><id>}:m (SET PXAT, MGET of both, PEXPIREAT, a tombstone SET PX on destroy), pipelined in one round trip, no script, no atomicity: its ratio to raw is the ceiling for any store that keeps metadata beside connect-redis's key, as sessionkit does.",
          "sessionkit: createStore(redisAdapter(client)) with its defaults: each write is one script keeping the session's metadata key and the destroy's tombstone; its session key is connect-redis's (<prefix><id>, the same JSON), so this is also sessionkit on connect-redis's data (except that a get of a session connect-redis wrote or touched last takes sessionkit a second round trip). connect-redis 9: its defaults.",
        ],
      }),
    ];
  });
