import { createStore, memoryBackend, type SessionkitStore } from "@sessionkit/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApp, sessionOwner } from "../src/app.js";
import { type Listening, listen } from "../src/server.js";
import { Client, SECRET, silent, userOf, viewsOf } from "./support/demo.js";

let store: SessionkitStore;
let server: Listening;

beforeEach(async () => {
  store = createStore(memoryBackend(), { owner: sessionOwner, gcInterval: 0 });
  const app = createApp({ store, secret: SECRET, logger: silent, backendLabel: "memory" });
  server = await listen(app, 0, "127.0.0.1");
});
afterEach(async () => {
  await server.close();
  await store.close();
});

async function loggedIn(name: string): Promise<Client> {
  const client = new Client(server.url);
  const res = await client.post("/login", { name });
  expect(res.status).toBe(303);
  expect(res.location).toBe("/");
  return client;
}

describe("the demo app", () => {
  it("counts visits in the session", async () => {
    const client = new Client(server.url);
    for (let i = 1; i <= 3; i++) expect(viewsOf((await client.get("/")).text)).toBe(i);
    expect(await store.length()).toBe(1);
    expect(userOf((await client.get("/")).text)).toBeNull();
  });

  it("shows a login form, logs in by name and keeps the visit count", async () => {
    const client = new Client(server.url);
    expect((await client.get("/login")).text).toContain('<form method="post" action="/login">');
    await client.get("/");
    const before = client.cookie;
    await client.post("/login", { name: "ada" });
    expect(client.cookie).not.toBe(before); // a new session id on login
    const home = await client.get("/");
    expect(userOf(home.text)).toBe("ada");
    expect(viewsOf(home.text)).toBe(2);
    // Logged in: /login sends you home.
    expect((await client.get("/login")).status).toBe(303);
  });

  it("escapes the user's name", async () => {
    const client = await loggedIn(`<script>alert("pwned")</script>`);
    const html = (await client.get("/")).text;
    expect(html).not.toContain("<script>");
    expect(userOf(html)).toBe("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;");
  });

  it("refuses an empty or over-long name and writes no session", async () => {
    const client = new Client(server.url);
    const empty = await client.post("/login", { name: "   " });
    expect(empty.status).toBe(400);
    expect(empty.text).toContain('id="error"');
    const long = await client.post("/login", { name: "x".repeat(65) });
    expect(long.status).toBe(400);
    expect(await store.length()).toBe(0);
  });

  it("logs out", async () => {
    const client = await loggedIn("bob");
    expect((await client.post("/logout")).location).toBe("/");
    expect(await store.length()).toBe(0);
    expect(userOf((await client.get("/")).text)).toBeNull();
  });

  it("logs a user out everywhere, and nobody else", async () => {
    const laptop = await loggedIn("carol");
    const phone = await loggedIn("carol");
    const other = await loggedIn("dave");
    const res = await laptop.post("/logout-everywhere");
    expect(res.location).toBe("/?loggedOut=2");
    const home = await laptop.get(res.location as string);
    expect(home.text).toContain("Logged out everywhere: 2 sessions ended.");
    expect(userOf(home.text)).toBeNull();
    expect(userOf((await phone.get("/")).text)).toBeNull();
    expect(userOf((await other.get("/")).text)).toBe("dave");
  });

  it("ignores log out everywhere from a visitor who is not logged in", async () => {
    await loggedIn("erin");
    const visitor = new Client(server.url);
    expect((await visitor.post("/logout-everywhere")).location).toBe("/");
    expect(await store.length()).toBe(1);
  });

  it("answers 404 with a page for an unknown path", async () => {
    const res = await new Client(server.url).get("/nope");
    expect(res.status).toBe(404);
    expect(res.text).toContain("There is no such page.");
  });

  it("answers 500 with a page, not a stack, when the store fails", async () => {
    const client = await loggedIn("frank");
    await store.close(); // every store call now fails with ERR_SESSION_CLOSED
    const res = await client.get("/");
    expect(res.status).toBe(500);
    expect(res.text).toContain("Something went wrong");
    expect(res.text).not.toMatch(/at .*\.(js|ts):\d+/);
  });
});
