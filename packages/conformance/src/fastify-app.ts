import fastifyCookie from "@fastify/cookie";
import fastifySession from "@fastify/session";
import type { SessionkitStore } from "@sessionkit/core";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import type { Gates } from "./gates.js";
import { type AppSession, describeSession, type TestApp, type TestAppOptions, testApp } from "./test-app.js";

/** The part of @fastify/session's session the routes use (typed here: a library must not augment its users' types). */
interface Session {
  readonly sessionId: string;
  get<K extends keyof AppSession>(key: K): AppSession[K];
  set<K extends keyof AppSession>(key: K, value: AppSession[K]): void;
  options(cookie: { maxAge?: number }): void;
  regenerate(): Promise<void>;
  destroy(): Promise<void>;
}
const sessionOf = (request: FastifyRequest) => (request as unknown as { session: Session }).session;
const answer = (request: FastifyRequest) => {
  const s = sessionOf(request);
  return describeSession(s.sessionId, { user: s.get("user"), views: s.get("views") });
};

/** The routes of `TestApp`: registered twice, at the root and under `/resave` (rolling sessions re-save anyway). */
async function routes(app: FastifyInstance, { gates }: { gates: Gates }): Promise<void> {
  app.get<{ Querystring: { maxAge?: string } }>("/count", async (request) => {
    const s = sessionOf(request);
    const maxAge = Number(request.query.maxAge);
    if (maxAge > 0) s.options({ maxAge });
    s.set("views", (s.get("views") ?? 0) + 1);
    return answer(request);
  });
  app.get("/peek", async (request) => answer(request));
  app.post<{ Params: { user: string } }>("/login/:user", async (request) => {
    const views = sessionOf(request).get("views");
    await sessionOf(request).regenerate();
    const s = sessionOf(request); // regenerate put a new session on the request
    s.set("user", request.params.user);
    if (views !== undefined) s.set("views", views);
    return answer(request);
  });
  app.post("/logout", async (request) => {
    await sessionOf(request).destroy();
    return { ok: true };
  });
  app.post<{ Params: { gate: string }; Querystring: { change?: string } }>("/slow/:gate", async (request) => {
    const before = answer(request);
    await gates.wait(request.params.gate);
    if (request.query.change) sessionOf(request).set("note", "written after the gate");
    return before;
  });
}

/**
 * The routes of `TestApp` in fastify 5 + @fastify/cookie + @fastify/session (rolling sessions,
 * the default, which write the session back on every request; `saveUninitialized: false`;
 * cookies without maxAge unless a route sets one; `secure: false` over plain HTTP).
 */
export async function startFastifyApp(
  store: SessionkitStore,
  gates: Gates,
  { genid }: TestAppOptions = {},
): Promise<TestApp> {
  const app = Fastify();
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    store,
    secret: "conformance-secret-of-at-least-32-characters",
    saveUninitialized: false,
    cookie: { secure: false },
    ...(genid && { idGenerator: genid }),
  });
  await app.register(routes, { gates });
  await app.register(routes, { gates, prefix: "/resave" });
  app.setErrorHandler((err: Error & { code?: string }, _request, reply) => {
    void reply.status(500).send({ error: err.message, code: err.code });
  });
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  return testApp({
    framework: "fastify",
    url,
    cookieName: "sessionId",
    savesUnchanged: true,
    gates,
    close: () => app.close(),
  });
}
