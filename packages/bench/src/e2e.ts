// End to end over HTTP: express 5 + express-session on Redis, one app per contender, each in a
// child process of its own (`node e2e.js serve <contender> <prefix>`), driven from the bench
// process over keep-alive connections.
import { fork } from "node:child_process";
import { once } from "node:events";
import { Agent, get } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createStore } from "@sessionkit/core";
import { redisAdapter } from "@sessionkit/redis";
import { RedisStore } from "connect-redis";
import express from "express";
import session from "express-session";
import { type Benchmark, benchSession, type Contender, closeAll, compareSection, HOUR } from "./harness.js";
import { clean, connect, PREFIX, raw } from "./redis.js";

const SIZES = { small: { ops: 1000, rounds: 3 }, large: { ops: 10_000, rounds: 5 } } as const;
const CONCURRENCY = 16;
/** Each round: a new session, a write, a read, a logout; the body says what the session holds. */
const REQUESTS = { login: ["/login", "17"], write: ["/count", "18"], read: ["/peek", "18"], logout: ["/logout", "-"] };

/** An express-session Store over the minimal commands of `raw` (redis.ts): nothing else. */
type Callback = (e: unknown, v?: never) => void;
class MinimalStore extends session.Store {
  constructor(private readonly ops: Contender["ops"]) {
    super();
  }
  private call(op: string, sid: string, s: unknown, cb?: Callback) {
    this.ops[op]?.(sid, s as never).then((v) => cb?.(null, (v ?? null) as never), cb);
  }
  get(sid: string, cb: Callback) {
    this.call("get", sid, null, cb);
  }
  set(sid: string, s: session.SessionData, cb?: Callback) {
    this.call("set", sid, s, cb);
  }
  override touch(sid: string, s: session.SessionData, cb?: Callback) {
    this.call("touch", sid, s, cb);
  }
  destroy(sid: string, cb?: Callback) {
    this.call("destroy", sid, null, cb);
  }
}

/** The child: the contender's store on a client of its own, an app on a free loopback port, sent to the parent. */
async function serve(name: string, prefix: string): Promise<void> {
  const client = await connect();
  let store: session.Store;
  if (name === "sessionkit") store = createStore(redisAdapter(client, { prefix }), { gcInterval: 0 }) as never;
  else if (name === "connect-redis") store = new RedisStore({ client, prefix });
  else store = new MinimalStore(raw(name, client, prefix).ops);
  const { cookie: _, ...data } = benchSession();
  const app = express();
  app.use(session({ store, secret: "bench", resave: false, saveUninitialized: false, cookie: { maxAge: HOUR } }));
  const views = (req: express.Request) => req.session as unknown as { views: number };
  app.get("/login", (req, res) => res.send(String(Object.assign(req.session, data).views)));
  app.get("/count", (req, res) => res.send(String(++views(req).views)));
  app.get("/peek", (req, res) => res.send(String(views(req).views)));
  app.get("/logout", (req, res, next) => req.session.destroy((e) => (e ? next(e) : res.send("-"))));
  const server = app.listen(0, "127.0.0.1", () => process.send?.((server.address() as AddressInfo).port));
  server.keepAliveTimeout = 10 * 60_000; // idle while the others are measured: connections kept for the next run
}

/** A GET with the cookie, if any: the status, the body, and the session cookie set. */
function request(agent: Agent, port: number, path: string, cookie?: string) {
  return new Promise<{ status?: number; body: string; cookie?: string }>((resolve, reject) => {
    get({ host: "127.0.0.1", port, path, agent, headers: cookie ? { cookie } : {} }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () =>
        resolve({ status: res.statusCode, body, cookie: res.headers["set-cookie"]?.[0]?.split(";")[0] }),
      );
    }).on("error", reject);
  });
}

/** Starts the contender's app in a child process; its ops are requests, each checked by its answer. */
async function contender(name: string, prefix: string): Promise<Contender> {
  const child = fork(fileURLToPath(import.meta.url), ["serve", name, prefix]);
  const exited = once(child, "exit").then(([code]) => Promise.reject(new Error(`${name}: server exited (${code})`)));
  const [port] = (await Promise.race([once(child, "message"), exited])) as [number];
  exited.catch(() => {});
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const cookies = new Map<string, string>();
  const call = async (id: string, [path, expected]: string[]) => {
    const r = await request(agent, port, path as string, cookies.get(id));
    if (r.status !== 200 || r.body !== expected) throw new Error(`${name}: GET ${path} answered ${r.status} ${r.body}`);
    if (path === "/logout") cookies.delete(id);
    else if (r.cookie) cookies.set(id, r.cookie);
  };
  const ops = Object.fromEntries(Object.entries(REQUESTS).map(([op, req]) => [op, (id: string) => call(id, req)]));
  return {
    name,
    ops,
    close: async () => {
      agent.destroy();
      child.kill();
      await once(child, "exit");
    },
  };
}

export const bench: Benchmark = async (ctx) => {
  const size = SIZES[ctx.size];
  const admin = await connect();
  const contenders: Contender[] = [];
  try {
    await clean(admin);
    const names = ["raw node-redis", "control: raw node-redis", "sessionkit", "connect-redis"];
    for (const [i, name] of names.entries()) contenders.push(await contender(name, `${PREFIX}e2e${i}:`));
    const options = { ...size, concurrency: CONCURRENCY, sequence: Object.keys(REQUESTS) };
    const title = "End to end: express 5 + express-session on Redis";
    return [
      await compareSection(title, contenders, options, ctx.log, {
        setup:
          "requests per run; each app in a child process of its own, the load from the bench process over keep-alive connections",
        more: [
          "login: a GET without a cookie that fills a new session (~300 bytes of JSON; express-session: set). write: a GET with the cookie that increments a counter in the session (get + set). read: a GET with the cookie that reads it (get + touch: resave and rolling false). logout: session.destroy() (get + destroy). Every answer is checked (status and the counter).",
          "raw: an express-session Store of 4 methods sending raw's commands (GET + JSON.parse, SET PXAT, PEXPIREAT, DEL); control: the same on its own app; sessionkit: createStore(redisAdapter(client)); connect-redis 9: its defaults.",
          "A child process per app keeps the load generator's work off the server's event loop (as it is off a real server's): the 2 cores are shared by the app, the load and Redis; an idle app waits while another is measured.",
        ],
      }),
    ];
  } finally {
    await closeAll(contenders, ctx.log);
    await clean(admin).catch(() => {});
    await admin.close();
  }
};

if (process.argv[2] === "serve" && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await serve(process.argv[3] as string, process.argv[4] as string);
}
