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

/** An answer as the tests look at it. */
export interface Reply {
  status: number;
  text: string;
  location: string | null;
  /** The Set-Cookie header, whole (attributes included), if any. */
  setCookie: string | null;
}

/**
 * A tiny cookie-keeping HTTP client that does not follow redirects. `headers` go with every
 * request (e.g. a user agent); `post` sends `Sec-Fetch-Site: same-origin` like a browser
 * submitting the app's own form, unless the request's own headers say otherwise.
 */
export class Client {
  cookie: string | undefined;
  constructor(
    public baseUrl: string,
    public headers: Record<string, string> = {},
  ) {}

  async get(path: string, headers: Record<string, string> = {}): Promise<Reply> {
    return this.send("GET", path, undefined, headers);
  }

  async post(path: string, form: Record<string, string> = {}, headers?: Record<string, string>): Promise<Reply> {
    return this.send(
      "POST",
      path,
      new URLSearchParams(form).toString(),
      headers ?? { "sec-fetch-site": "same-origin" },
    );
  }

  /** The session id inside the signed cookie (what the store keys the session by). */
  get sessionId(): string | undefined {
    if (!this.cookie) return undefined;
    const signed = decodeURIComponent(this.cookie.slice(this.cookie.indexOf("=") + 1));
    return signed.startsWith("s:") ? signed.slice(2, signed.lastIndexOf(".")) : undefined;
  }

  private async send(method: string, path: string, body: string | undefined, extra: Record<string, string>) {
    const headers: Record<string, string> = { ...this.headers, ...extra };
    if (this.cookie) headers.cookie = this.cookie;
    if (body !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
    const res = await fetch(this.baseUrl + path, { method, headers, body, redirect: "manual" });
    const setCookie = res.headers.get("set-cookie");
    if (setCookie) this.cookie = setCookie.split(";")[0];
    return { status: res.status, text: await res.text(), location: res.headers.get("location"), setCookie };
  }
}

/**
 * A server-side gate for `GET /slow`: `wait` (the app's `slowRequestGate`) parks a request
 * until `release()`; `arrived` resolves once a request is parked. No sleeping anywhere.
 */
export class Gate {
  private open = false;
  private opened: () => void = () => {};
  private readonly openPromise = new Promise<void>((resolve) => (this.opened = resolve));
  private signalArrival: () => void = () => {};
  /** Resolves when a request waits at the gate. */
  readonly arrived = new Promise<void>((resolve) => (this.signalArrival = resolve));

  readonly wait = (): Promise<void> => {
    this.signalArrival();
    return this.open ? Promise.resolve() : this.openPromise;
  };

  release(): void {
    this.open = true;
    this.opened();
  }
}

/** The sessions listed on the "Your sessions" page: handle, device text, whether it is this device. */
export function sessionsOf(
  html: string,
): { handle: string; device: string; current: boolean; created: string; active: string }[] {
  const rows = [...html.matchAll(/<li class="session( current)?" data-handle="([^"]+)">([\s\S]*?)<\/li>/g)];
  return rows.map((row) => ({
    handle: row[2] as string,
    current: row[1] !== undefined,
    device: /class="device"[^>]*>([^<]*)</.exec(row[3] as string)?.[1] ?? "",
    created: /class="created">([^<]*)</.exec(row[3] as string)?.[1] ?? "",
    active: /class="active">([^<]*)</.exec(row[3] as string)?.[1] ?? "",
  }));
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
