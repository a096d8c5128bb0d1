import { createHmac } from "node:crypto";
import { join } from "node:path";
import { createStore, memoryBackend, type SessionkitStore } from "@sessionkit/core";
import { knexAdapter } from "@sessionkit/knex";
import type { FastifyInstance } from "fastify";
import knex, { type Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFastifyApp, type FastifyDemoOptions } from "../src/fastify.js";
import { SECRET, tempDir } from "./support/demo.js";

const tmp = tempDir("fastify");
let db: Knex;
let store: SessionkitStore;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  db = knex({
    client: "better-sqlite3",
    connection: { filename: join(tmp.dir, "sessions.db") },
    useNullAsDefault: true,
  });
  store = createStore(knexAdapter(db), { gcInterval: 0 });
  app = await createFastifyApp({ store, secret: SECRET });
  url = await app.listen({ port: 0, host: "127.0.0.1" });
});
afterAll(async () => {
  await app?.close();
  await store?.close();
  await db?.destroy();
  tmp.remove();
});

/** One visitor with a cookie jar, over real HTTP. */
function visitor() {
  let cookie: string | undefined;
  return {
    get cookie() {
      return cookie;
    },
    async count(): Promise<number> {
      const res = await fetch(`${url}/count`, { headers: cookie ? { cookie } : {} });
      const setCookie = res.headers.get("set-cookie");
      if (setCookie) cookie = setCookie.split(";")[0];
      expect(res.status).toBe(200);
      return ((await res.json()) as { views: number }).views;
    },
  };
}

describe("the Fastify example (@fastify/session over a sessionkit store on SQLite)", () => {
  it("keeps a counter across requests in the store", async () => {
    const one = visitor();
    expect(await one.count()).toBe(1);
    expect(await one.count()).toBe(2);
    expect(await one.count()).toBe(3);
    const signed = decodeURIComponent((one.cookie as string).split("=")[1] as string);
    const sid = signed.slice(0, signed.lastIndexOf("."));
    expect(await store.get(sid)).toMatchObject({ views: 3 });
  });

  it("keeps visitors apart, and a forged cookie starts a fresh session", async () => {
    const a = visitor();
    const b = visitor();
    await a.count();
    await a.count();
    expect(await b.count()).toBe(1);
    const forged = await fetch(`${url}/count`, { headers: { cookie: "sessionkit.sid=not-a-signed-id" } });
    expect(((await forged.json()) as { views: number }).views).toBe(1);
  });

  it("reads sessions written through the store directly (one store, any framework)", async () => {
    const sid = "written-by-express-session-like-code";
    await store.set(sid, {
      cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) },
      views: 41,
    } as never);
    // The id signed the way express-session and @fastify/session both sign it (HMAC-SHA256).
    const signed = `${sid}.${createHmac("sha256", SECRET).update(sid).digest("base64").replace(/=+$/, "")}`;
    const res = await fetch(`${url}/count`, { headers: { cookie: `sessionkit.sid=${encodeURIComponent(signed)}` } });
    expect(((await res.json()) as { views: number }).views).toBe(42);
  });
});

describe("the Fastify example's cross-site check and Secure flag", () => {
  /** An app over a fresh memory store, and a visitor with a counter at 2 to reset. */
  async function started(options: Partial<FastifyDemoOptions> = {}) {
    const memory = createStore(memoryBackend(), { gcInterval: 0 });
    const fastify = await createFastifyApp({ store: memory, secret: SECRET, ...options });
    const base = await fastify.listen({ port: 0, host: "127.0.0.1" });
    let cookie = "";
    const send = async (method: string, path: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${base}${path}`, { method, headers: { cookie, ...headers } });
      const setCookie = res.headers.get("set-cookie");
      if (setCookie) cookie = setCookie.split(";")[0] as string;
      return { status: res.status, body: (await res.json()) as Record<string, unknown>, setCookie };
    };
    await send("GET", "/count");
    await send("GET", "/count");
    return {
      base,
      send,
      async close() {
        await fastify.close();
        await memory.close();
      },
    };
  }

  it.each<Record<string, string>>([
    { "sec-fetch-site": "cross-site" },
    { "sec-fetch-site": "same-site" },
    { origin: "https://evil.example" },
    { origin: "null" },
  ])("refuses POST /count/reset sent with %o, and the count stays", async (headers) => {
    const app = await started();
    try {
      const res = await app.send("POST", "/count/reset", headers);
      expect(res).toMatchObject({ status: 403, body: { error: "cross-site request refused" }, setCookie: null });
      expect((await app.send("GET", "/count")).body).toEqual({ views: 3 });
      // A GET is never refused.
      expect((await app.send("GET", "/count", headers)).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it.each<Record<string, string>>([{ "sec-fetch-site": "same-origin" }, { origin: "SAME" }, {}])(
    "accepts POST /count/reset sent with %o",
    async (headers) => {
      const app = await started();
      try {
        const sent = headers.origin === "SAME" ? { origin: app.base } : headers;
        expect(await app.send("POST", "/count/reset", sent)).toMatchObject({ status: 200, body: { views: 0 } });
        expect((await app.send("GET", "/count")).body).toEqual({ views: 1 });
      } finally {
        await app.close();
      }
    },
  );

  it("sets Secure when a trusted (loopback) proxy says HTTPS, never over plain HTTP or from an untrusted proxy", async () => {
    const https = { "x-forwarded-proto": "https" };
    const firstCookie = async (options: Partial<FastifyDemoOptions>, headers: Record<string, string>) => {
      const app = await started(options);
      try {
        const fresh = await fetch(`${app.base}/count`, { headers });
        return fresh.headers.get("set-cookie");
      } finally {
        await app.close();
      }
    };
    expect(await firstCookie({}, https)).toMatch(/;\s*Secure/i);
    expect(await firstCookie({}, {})).not.toMatch(/;\s*Secure/i);
    expect(await firstCookie({ trustProxy: false }, https)).not.toMatch(/;\s*Secure/i);
    expect(await firstCookie({ secureCookie: false }, https)).not.toMatch(/;\s*Secure/i);
    expect(await firstCookie({ secureCookie: true }, https)).toMatch(/;\s*Secure/i);
    expect(await firstCookie({ secureCookie: true }, {})).toBeNull(); // a Secure cookie is not sent over HTTP
  });
});
