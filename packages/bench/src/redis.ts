// Redis: sessionkit's redisAdapter against node-redis doing the minimal work of a store (the
// baseline), a control copy of it, and connect-redis 9, each on a client of its own.
import { createStore } from "@sessionkit/core";
import { redisAdapter } from "@sessionkit/redis";
import { RedisStore } from "connect-redis";
import { createClient } from "redis";
import {
  type Benchmark,
  type CallbackStore,
  type Contender,
  closeAll,
  compareSection,
  storeContender,
  viaCallbacks,
} from "./harness.js";

const URL = process.env.SESSIONKIT_REDIS_URL ?? "redis://127.0.0.1:6379";
const PREFIX = "skbench:";
const SIZES = { small: { ops: 10_000, rounds: 5 }, large: { ops: 50_000, rounds: 7 } } as const;
const CONCURRENCY = 8;

async function connect() {
  const client = createClient({ url: URL });
  client.on("error", () => {}); // a lost connection fails the calls in flight, which fails the section
  await client.connect();
  return client;
}
type Client = Awaited<ReturnType<typeof connect>>;

/** GET + JSON.parse, SET … PXAT, PEXPIREAT, DEL: what any store must send, and nothing more. */
function raw(name: string, client: Client, prefix: string): Contender {
  const at = (s: { cookie: { expires: Date } }) => String(s.cookie.expires.getTime());
  return {
    name,
    ops: {
      set: (id, s) => client.sendCommand(["SET", prefix + id, JSON.stringify(s), "PXAT", at(s)]),
      get: async (id) => {
        const value = (await client.sendCommand(["GET", prefix + id])) as string | null;
        return value === null ? null : JSON.parse(value);
      },
      touch: (id, s) => client.sendCommand(["PEXPIREAT", prefix + id, at(s)]),
      destroy: (id) => client.sendCommand(["DEL", prefix + id]),
    },
    close: () => client.close(),
  };
}

/** Deletes every key this benchmark wrote. */
async function clean(client: Client): Promise<void> {
  for await (const keys of client.scanIterator({ MATCH: `*${PREFIX}*`, COUNT: 1000 })) {
    if (keys.length > 0) await client.del(keys);
  }
}

export const bench: Benchmark = async (ctx) => {
  const size = SIZES[ctx.size];
  const admin = await connect();
  const contenders: Contender[] = [];
  try {
    await clean(admin);
    contenders.push(raw("raw node-redis", await connect(), `${PREFIX}raw:`));
    contenders.push(raw("control: raw node-redis", await connect(), `${PREFIX}ctl:`));
    const skClient = await connect();
    const store = createStore(redisAdapter(skClient, { prefix: `${PREFIX}sk:` }), { gcInterval: 0 });
    await store.length(); // init: scripts loaded before the first timed call
    contenders.push(storeContender("sessionkit", store, () => skClient.close()));
    const crClient = await connect();
    const cr = new RedisStore({ client: crClient, prefix: `${PREFIX}cr:` });
    contenders.push({
      name: "connect-redis",
      ops: viaCallbacks(cr as unknown as CallbackStore),
      close: () => crClient.close(),
    });
    return [
      await compareSection("Redis (node-redis 5)", contenders, { ...size, concurrency: CONCURRENCY }, ctx.log, {
        setup: "one client per contender",
        more: [
          "raw: sendCommand of GET (+ JSON.parse), SET PXAT (+ JSON.stringify), PEXPIREAT, DEL: one command per operation, no metadata, no tombstone. control: the same code under another prefix.",
          "sessionkit: createStore(redisAdapter(client)) with its defaults: each write is one script keeping the session's metadata key and the destroy's tombstone. connect-redis 9: its defaults.",
        ],
      }),
    ];
  } finally {
    await closeAll(contenders, ctx.log);
    await clean(admin).catch(() => {});
    await admin.close();
  }
};
