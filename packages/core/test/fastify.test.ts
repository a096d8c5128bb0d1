import fastifyCookie from "@fastify/cookie";
import fastifySession from "@fastify/session";
import { createStore, memoryBackend } from "@sessionkit/core";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("as a @fastify/session store", () => {
  const store = createStore(memoryBackend(), { gcInterval: 0 });
  const app = Fastify();
  let url: string;

  beforeAll(async () => {
    await app.register(fastifyCookie);
    await app.register(fastifySession, {
      secret: "a secret with minimum length of 32 characters",
      store,
      cookie: { secure: false, maxAge: 60_000 },
      saveUninitialized: false,
    });
    app.get("/count", async (request) => {
      const views = ((request.session.get("views" as never) as number | undefined) ?? 0) + 1;
      request.session.set("views" as never, views as never);
      return { views };
    });
    app.post("/logout", async (request) => {
      await request.session.destroy();
      return { ok: true };
    });
    url = await app.listen({ port: 0, host: "127.0.0.1" });
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  it("keeps a session across real HTTP requests and destroys it", async () => {
    let cookie = "";
    for (let i = 1; i <= 3; i++) {
      const res = await fetch(`${url}/count`, { headers: cookie ? { cookie } : {} });
      cookie = res.headers.get("set-cookie")?.split(";")[0] ?? cookie;
      expect(await res.json()).toEqual({ views: i });
    }
    expect(await store.length()).toBe(1);
    await fetch(`${url}/logout`, { method: "POST", headers: { cookie } });
    expect(await store.length()).toBe(0);
    const after = await fetch(`${url}/count`, { headers: { cookie } });
    expect(await after.json()).toEqual({ views: 1 });
  });
});
