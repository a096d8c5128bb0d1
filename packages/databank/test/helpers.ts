import { once } from "node:events";
import net from "node:net";
import databank from "databank";
import type { DatabankLike } from "../src/index.js";

const redisUrl = new URL(process.env.SESSIONKIT_REDIS_URL ?? "redis://127.0.0.1:6379");
export const redisHost = redisUrl.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
export const redisPort = Number(redisUrl.port || 6379);
export const redisDatabase = Number(redisUrl.pathname.slice(1) || 0);

/** databank-redis params for the test Redis. */
export const redisParams = { host: redisHost, port: redisPort, database: redisDatabase, checkIndices: false };

/** A type name unique to one test file and process: databank-redis keys are `<type>:<id>`. */
export function testType(file: string): string {
  return `skdbk_${file}_${process.pid}`;
}

export function bankCall<T = unknown>(start: (cb: (error: unknown, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value as T))));
}

/** A connected databank of `driver`. */
export async function connectedBank(driver: string, params: object = {}): Promise<DatabankLike> {
  const bank = databank.Databank.get(driver, params);
  await bankCall((cb) => bank.connect({}, cb));
  return bank;
}

/** Sends one command to Redis over RESP (for probing and for deleting this file's own keys). */
export function redisCommand(...args: string[]): Promise<unknown> {
  return redisCommandIn(redisDatabase, ...args);
}

/** The same, in Redis database `db`. */
export async function redisCommandIn(db: number, ...args: string[]): Promise<unknown> {
  const socket = net.connect(redisPort, redisHost);
  socket.setTimeout(5000, () => socket.destroy(new Error("redis: no answer within 5 s")));
  await once(socket, "connect");
  const frame = (parts: string[]) =>
    `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join("")}`;
  socket.write(frame(["SELECT", String(db)]) + frame(args));
  let buffer = "";
  for await (const chunk of socket) {
    buffer += chunk.toString("utf8");
    const replies = parseReplies(buffer);
    if (replies.length >= 2) {
      socket.destroy();
      return replies[1];
    }
  }
  throw new Error("redis closed the connection");
}

function parseReplies(text: string): unknown[] {
  const out: unknown[] = [];
  let pos = 0;
  const line = () => {
    const end = text.indexOf("\r\n", pos);
    if (end < 0) throw new RangeError("incomplete");
    const l = text.slice(pos, end);
    pos = end + 2;
    return l;
  };
  const value = (): unknown => {
    const l = line();
    const rest = l.slice(1);
    switch (l[0]) {
      case "+":
        return rest;
      case "-":
        return new Error(rest);
      case ":":
        return Number(rest);
      case "$": {
        const n = Number(rest);
        if (n < 0) return null;
        if (text.length < pos + n + 2) throw new RangeError("incomplete");
        const s = text.slice(pos, pos + n); // ASCII keys only in these tests
        pos += n + 2;
        return s;
      }
      case "*":
        return Array.from({ length: Number(rest) }, value);
      default:
        throw new Error(`bad reply ${l}`);
    }
  };
  try {
    while (pos < text.length) out.push(value());
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
  return out;
}

/** Keys of this file's types (`<prefix>:*`, `<prefix>_expiry:*`, ...). */
export async function redisKeys(prefix: string): Promise<string[]> {
  return (await redisCommand("KEYS", `${prefix}*`)) as string[];
}

/** Deletes this file's keys, and only them. */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const keys = await redisKeys(prefix);
  if (keys.length > 0) await redisCommand("DEL", ...keys);
}

/** A TCP proxy to Redis that the test can cut and restore, to play "Redis went away". */
export class RedisProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  async start(): Promise<this> {
    const server = net.createServer((client) => {
      const upstream = net.connect(redisPort, redisHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("error", () => {});
        s.on("close", () => this.sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(this.port, "127.0.0.1");
    await once(server, "listening");
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Stops listening and cuts every connection. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Retries `attempt` until it resolves (for waiting out a reconnect), failing after `ms`. */
export async function eventually<T>(attempt: () => Promise<T>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
