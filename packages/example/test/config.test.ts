import { describe, expect, it } from "vitest";
import { BACKENDS, ConfigError, readConfig } from "../src/config.js";
import { describeError } from "../src/errors.js";
import { escapeHtml } from "../src/html.js";

describe("readConfig", () => {
  it("defaults to SQLite on port 3000 under the package's .data folder", () => {
    const config = readConfig({});
    expect(config.backend).toBe("sqlite");
    expect(config.port).toBe(3000);
    expect(config.host).toBe("127.0.0.1");
    expect(config.dataDir).toMatch(/packages[\\/]example[\\/]\.data[\\/]?$/);
    expect(config.maxAgeMs).toBe(86_400_000);
    expect(config.pgUrl).toBe("postgres://postgres@127.0.0.1:5432/test");
    expect(config.redisPrefix).toBe("sess:");
    expect(readConfig({ SESSIONKIT_REDIS_PREFIX: "demo:" }).redisPrefix).toBe("demo:");
  });

  it("accepts every documented backend", () => {
    for (const backend of BACKENDS) {
      const env = { SESSIONKIT_BACKEND: backend, SESSIONKIT_COUCHDB_URL: "http://127.0.0.1:5984/s" };
      expect(readConfig(env).backend).toBe(backend);
    }
  });

  it("rejects an unknown backend with one line that lists the valid ones", () => {
    expect(() => readConfig({ SESSIONKIT_BACKEND: "oracle" })).toThrow(ConfigError);
    expect(() => readConfig({ SESSIONKIT_BACKEND: "oracle" })).toThrow(
      /^SESSIONKIT_BACKEND="oracle" is not a backend; use one of: sqlite, postgres, mariadb, pouchdb, couchdb, databank-memory, redis, memory$/,
    );
  });

  it("rejects a bad PORT or max age, naming the variable", () => {
    for (const port of ["abc", "-1", "70000", "3.5"]) {
      expect(() => readConfig({ PORT: port })).toThrow(new RegExp(`^PORT="${port.replace(".", "\\.")}"`));
    }
    expect(() => readConfig({ SESSIONKIT_MAX_AGE: "10" })).toThrow(/SESSIONKIT_MAX_AGE/);
    expect(readConfig({ PORT: "0" }).port).toBe(0);
  });

  it("reads the Secure flag setting: auto by default, true or false", () => {
    expect(readConfig({}).secureCookie).toBe("auto");
    expect(readConfig({ SESSIONKIT_SECURE_COOKIE: "true" }).secureCookie).toBe(true);
    expect(readConfig({ SESSIONKIT_SECURE_COOKIE: "FALSE" }).secureCookie).toBe(false);
    expect(readConfig({ SESSIONKIT_SECURE_COOKIE: "auto" }).secureCookie).toBe("auto");
    expect(() => readConfig({ SESSIONKIT_SECURE_COOKIE: "yes" })).toThrow(
      /^SESSIONKIT_SECURE_COOKIE="yes" must be auto, true or false$/,
    );
  });

  it("reads which proxies to trust: loopback by default, true, false, or addresses, subnets and names", () => {
    expect(readConfig({}).trustProxy).toEqual(["loopback"]);
    expect(readConfig({ SESSIONKIT_TRUST_PROXY: "false" }).trustProxy).toBe(false);
    expect(readConfig({ SESSIONKIT_TRUST_PROXY: "true" }).trustProxy).toBe(true);
    expect(readConfig({ SESSIONKIT_TRUST_PROXY: "loopback, 10.0.0.0/8,fd00::/8, 192.168.1.7" }).trustProxy).toEqual([
      "loopback",
      "10.0.0.0/8",
      "fd00::/8",
      "192.168.1.7",
    ]);
    for (const bad of ["2", "10.0.0.0/33", "example.com", "loopback,", "::1/129"]) {
      expect(() => readConfig({ SESSIONKIT_TRUST_PROXY: bad })).toThrow(/^SESSIONKIT_TRUST_PROXY=/);
    }
  });

  it("says databank-redis is no longer offered, and what to use instead", () => {
    expect(() => readConfig({ SESSIONKIT_BACKEND: "databank-redis" })).toThrow(
      /^SESSIONKIT_BACKEND="databank-redis" is no longer offered .*; use SESSIONKIT_BACKEND=redis$/,
    );
  });

  it("requires a URL for couchdb and a long enough secret", () => {
    expect(() => readConfig({ SESSIONKIT_BACKEND: "couchdb" })).toThrow(/SESSIONKIT_COUCHDB_URL/);
    expect(() => readConfig({ SESSIONKIT_SECRET: "short" })).toThrow(/SESSIONKIT_SECRET/);
  });
});

describe("describeError", () => {
  it("gives one line, even for a multi-line message", () => {
    expect(describeError(new Error("first\n  second"))).toBe("first second");
  });

  it("looks inside an AggregateError without a message (every address refused)", () => {
    const error = new AggregateError([
      new Error("connect ECONNREFUSED ::1:5432"),
      new Error("connect ECONNREFUSED 127.0.0.1:5432"),
    ]);
    expect(describeError(error)).toBe("connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432");
  });

  it("unwraps an error given as another error's message (databank's style)", () => {
    const wrapper = new Error("x");
    (wrapper as { message: unknown }).message = new Error("Redis connection failed");
    expect(describeError(wrapper)).toBe("Redis connection failed");
  });
});

describe("escapeHtml", () => {
  it("escapes the characters that matter in content and attributes", () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y'`)).toBe(
      "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;",
    );
  });
});
