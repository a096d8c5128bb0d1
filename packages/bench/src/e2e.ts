// End to end over HTTP: express 5 + express-session on Redis, one app per contender, each in a
// child process of its own (`node e2e.js serve <contender> <prefix>`), driven from the bench
// process over keep-alive connections.
import { fork } from "node:child_process";
import { once } from "node:events";
import { Agent, get } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath, pathToFileURL } from "node:url";
import express from "express";
import session from "express-session";
import { type Benchmark, benchSession, type Contender, compareSection, HOUR, OPS } from "./harness.js";
import { cleanAround, connect, PREFIX, raw, redisStore } from "./redis.js";

const SIZES = { small: { ops: 1000, rounds: 3 }, large: { ops: 10_000, rounds: 5 } } as const;
const CONCURRENCY = 16;
/** Each round: a new session, a write, a read, a logout; the body says what the session holds. */
const REQUESTS = { login: ["/login", "17"], write: ["/count", "18"], read: ["/peek", "18"], logout: ["/logout", "-"] };

/** An express-session Store whose methods are `ops` (raw's commands, redis.ts), and nothing else. */
function minimalStore(ops: Contender["ops"]): object {
  const store = new (session.Store as unknown as new () => Record<string, unknown>)();
  for (const op of OPS) {
    store[op] = (sid: string, s: unknown, cb?: (e: unknown, v?: unknown) => void) => {
      const done = typeof s === "function" ? (s as typeof cb) : cb;
      ops[op]?.(sid, s as never).then((v) => done?.(null, v ?? null), done);
    };
  }
  return store;
}

/** The child: the contender's store on a client of its own, an app on a free loopback port, sent to the parent. */
async function serve(name: string, prefix: string): Promise<void> {
  const client = await connect();
  const minimal = name.includes("raw") && minimalStore(raw(name, client, prefix).ops);
  const store = (minimal || (await redisStore(name, client, prefix))) as never;
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
  process.on("disconnect", () => process.exit()); // the bench process is gone
}

/** Starts the contender's app in a child process; its ops are requests, each checked by its answer. */
async function contender(name: string, prefix: string): Promise<Contender> {
  const child = fork(fileURLToPath(import.meta.url), ["serve", name, prefix]);
  const exited = once(child, "exit").then(([code]) => Promise.reject(new Error(`${name}: server exited (${code})`)));
  const [port] = (await Promise.race([once(child, "message"), exited])) as [number];
  exited.catch(() => {});
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const cookies = new Map<string, string>();
  /** A GET with the session's cookie, if it has one; the answer checked, the cookie kept. */
  const call = (id: string, [path, expected]: string[]) =>
    new Promise<void>((resolve, reject) => {
      get({ host: "127.0.0.1", port, path, agent, headers: { cookie: cookies.get(id) ?? "" } }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (chunk) => (body += chunk));
        res.on("end", () => {
          if (res.statusCode !== 200 || body !== expected)
            reject(new Error(`${name}: GET ${path}: ${res.statusCode} ${body}`));
          const cookie = res.headers["set-cookie"]?.[0]?.split(";")[0];
          if (path === "/logout") cookies.delete(id);
          else if (cookie) cookies.set(id, cookie);
          resolve();
        });
      }).on("error", reject);
    });
  const ops = Object.fromEntries(Object.entries(REQUESTS).map(([op, req]) => [op, (id: string) => call(id, req)]));
  return {
    name,
    ops,
    close: async () => {
      agent.destroy();
      child.kill();
      await exited.catch(() => {}); // settled at the exit, also one that came before: never waits forever
    },
  };
}

export const bench: Benchmark = (ctx) =>
  cleanAround(async () => {
    const names = ["raw node-redis", "control: raw node-redis", "sessionkit", "connect-redis"];
    const contenders = [];
    for (const [i, name] of names.entries()) contenders.push(await contender(name, `${PREFIX}e2e${i}:`));
    const options = { ...SIZES[ctx.size], concurrency: CONCURRENCY, sequence: Object.keys(REQUESTS) };
    return [
      await compareSection("End to end: express 5 + express-session on Redis", contenders, options, ctx.log, {
        setup: "an operation is one HTTP request, over keep-alive connections",
        more: [
          "login: a GET without a cookie that fills a new session (~300 bytes of JSON; express-session: set). write: a GET with the cookie that increments a counter in the session (get + set). read: a GET with the cookie that reads it (get + touch: resave and rolling false). logout: session.destroy() (get + destroy). Every answer is checked (status and the counter).",
          "raw: an express-session Store of 4 methods sending raw's commands (GET + JSON.parse, SET PXAT, PEXPIREAT, DEL); control: the same on its own app; sessionkit: createStore(redisAdapter(client)); connect-redis 9: its defaults.",
          "A child process per app keeps the load generator's work off the server's event loop (as it is off a real server's): the 2 cores are shared by the app, the load and Redis; an idle app waits while another is measured.",
        ],
      }),
    ];
  });

if (process.argv[2] === "serve" && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await serve(process.argv[3] as string, process.argv[4] as string);
}
