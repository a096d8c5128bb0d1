import { createStore } from "@sessionkit/core";
import { describe, expect, it } from "vitest";
import { capturingLogger, instrumentedBackend, sessionWith } from "./helpers.js";

describe("logging", () => {
  it("logs through one child logger, never a session's contents nor a full session id, even at trace", async () => {
    const { logger, lines, entries } = capturingLogger();
    const { backend, inner, fail, heal } = instrumentedBackend();
    const store = createStore(backend, { gcInterval: 0, logger, owner: (s) => s.user as string });
    const sid = "SID-b7f3e9a1c2d4e5f60718293a4b5c6d7e";
    const secret = "TOP-SECRET-CONTENT-91827";
    await store.set(sid, sessionWith({ user: "owner-x", secret }));
    await store.get(sid);
    await store.touch(sid, sessionWith({ secret }));
    await store.all();
    await inner.upsert({
      id: `${sid}-corrupt`,
      payload: `{"${secret}`,
      expiresAt: Date.now() + 60_000,
      owner: null,
      now: 0,
    });
    await store.get(`${sid}-corrupt`);
    fail("get", "upsert");
    await store.get(sid).catch(() => {});
    await store.set(sid, sessionWith({ secret })).catch(() => {});
    heal();
    await store.destroy(sid);
    await store.prune();
    await store.close();

    const text = lines.join("\n");
    expect(lines.length).toBeGreaterThan(8);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(sid);
    expect(text).not.toContain(sid.slice(4, 20)); // not even a long piece of it
    const logged = entries();
    expect(new Set(logged.map((e) => e.name))).toEqual(new Set(["sessionkit"]));
    expect(logged.every((e) => e.backend === "instrumented")).toBe(true);
    // debug per operation, with a fingerprint that correlates lines of one session
    const gets = logged.filter((e) => e.level === 20 && e.op === "get");
    expect(gets.length).toBeGreaterThan(0);
    expect(new Set(gets.map((e) => e.sidHash)).size).toBe(2);
    expect(logged.some((e) => "sid" in e)).toBe(false); // the fingerprint is named for what it is
    // warn for the unreadable record, error for each backend failure, one line for the GC run
    expect(logged.filter((e) => e.level === 40)).toHaveLength(1);
    expect(logged.filter((e) => e.level === 50)).toHaveLength(2);
    expect(logged.filter((e) => e.op === "gc")).toHaveLength(1);
  });

  it("a logger without isLevelEnabled still gets the per-operation debug lines", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const record = (obj: object) => {
      lines.push(obj as Record<string, unknown>);
    };
    const plain = { trace: record, debug: record, info: record, warn: record, error: record, child: () => plain };
    const store = createStore(instrumentedBackend().backend, { gcInterval: 0, logger: plain });
    await store.get("some-session-id");
    await store.get("").catch(() => {});
    await store.close();
    expect(lines.filter((l) => l.op === "get")).toHaveLength(2);
  });

  it("without a logger the store is silent and works", async () => {
    const store = createStore(instrumentedBackend().backend, { gcInterval: 0 });
    await store.set("a", sessionWith({ n: 1 }));
    expect(await store.get("a")).toMatchObject({ n: 1 });
    await store.close();
  });
});
