import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import type { AppConfig } from "../../src/config.js";
import { readConfig } from "../../src/config.js";

/** A logger that prints nothing (tests assert on behaviour, not log lines). */
export const silent = pino({ level: "silent" });

export const SECRET = "a-test-secret-that-is-long-enough-for-fastify";

/** A temporary data folder; `remove()` deletes it. */
export function tempDir(label: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `sessionkit-example-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The demo's configuration for a test: a free port, a fixed secret, the given data folder. */
export function testConfig(dataDir: string, overrides: Partial<AppConfig> = {}): AppConfig {
  return { ...readConfig({}), port: 0, secret: SECRET, dataDir, ...overrides };
}

/** A tiny cookie-keeping HTTP client that does not follow redirects. */
export class Client {
  cookie: string | undefined;
  constructor(public baseUrl: string) {}

  async get(path: string): Promise<{ status: number; text: string; location: string | null }> {
    return this.send("GET", path);
  }

  async post(path: string, form: Record<string, string> = {}) {
    return this.send("POST", path, new URLSearchParams(form).toString());
  }

  private async send(method: string, path: string, body?: string) {
    const headers: Record<string, string> = {};
    if (this.cookie) headers.cookie = this.cookie;
    if (body !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
    const res = await fetch(this.baseUrl + path, { method, headers, body, redirect: "manual" });
    const setCookie = res.headers.get("set-cookie");
    if (setCookie) this.cookie = setCookie.split(";")[0];
    return { status: res.status, text: await res.text(), location: res.headers.get("location") };
  }
}

/** The visit count shown on the home page. */
export function viewsOf(html: string): number {
  const match = /id="views">(\d+)</.exec(html);
  if (!match) throw new Error(`no counter on the page: ${html.slice(0, 200)}`);
  return Number(match[1]);
}

/** The logged-in name on the home page (still escaped), or null when logged out. */
export function userOf(html: string): string | null {
  const match = /id="user">([^<]*)</.exec(html);
  return match ? (match[1] as string) : null;
}
