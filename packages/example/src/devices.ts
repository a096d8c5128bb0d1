import { createHmac } from "node:crypto";

/**
 * Names for sessions that can go into a page. A session id is a bearer credential: whoever
 * reads it can take the session over, so it never leaves the server. The "Your sessions" page
 * refers to a session by its handle instead, a keyed hash of the id that can't be turned back
 * into it; a form sends the handle, and the server finds the session again by listing the
 * user's own sessions and hashing their ids.
 */
export class SessionHandles {
  private readonly key: Buffer;

  /** `secret`: the cookie secret (the handles' key is derived from it, never the secret itself). */
  constructor(secret: string) {
    this.key = createHmac("sha256", secret).update("sessionkit-demo: session handles").digest();
  }

  /** The handle of a session id: 16 URL-safe characters (96 bits). */
  of(sessionId: string): string {
    return createHmac("sha256", this.key).update(sessionId).digest("base64url").slice(0, HANDLE_LENGTH);
  }

  /** The session among `sessions` whose handle is `handle`, if any. */
  find<T extends { id: string }>(sessions: readonly T[], handle: string): T | undefined {
    return sessions.find((s) => this.of(s.id) === handle);
  }
}

export const HANDLE_LENGTH = 16;
const HANDLE = /^[A-Za-z0-9_-]{16}$/;

/** Whether a form field is shaped like a handle (checked before any lookup). */
export function isHandle(value: unknown): value is string {
  return typeof value === "string" && HANDLE.test(value);
}

/** Longest user agent kept in a session. */
export const MAX_USER_AGENT = 256;

/** The user agent as the app keeps it in the session at login: trimmed, bounded, never empty. */
export function deviceOf(userAgent: string | undefined): string {
  const text = (userAgent ?? "").replace(/\s+/g, " ").trim().slice(0, MAX_USER_AGENT);
  return text || "unknown device";
}

const BROWSERS: ReadonlyArray<[RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\/(\d+)/, "Edge"],
  [/\bOPR\/(\d+)/, "Opera"],
  [/\bFirefox\/(\d+)/, "Firefox"],
  [/\bHeadlessChrome\/(\d+)/, "Headless Chrome"],
  [/\b(?:Chrome|Chromium|CriOS)\/(\d+)/, "Chrome"],
  [/\bVersion\/(\d+)[^ ]* (?:Mobile\/\S+ )?Safari\//, "Safari"],
  [/\bcurl\/(\d+)/, "curl"],
];
const SYSTEMS: ReadonlyArray<[RegExp, string]> = [
  [/\bAndroid\b/, "Android"],
  [/\b(?:iPhone|iPad|iPod)\b/, "iOS"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bWindows\b/, "Windows"],
  [/\bMac OS X\b|\bMacintosh\b/, "macOS"],
  [/\bLinux\b/, "Linux"],
];

/** A short name for a user agent, e.g. "Firefox 128 on Linux"; the agent itself when it is not recognised. */
export function describeDevice(userAgent: string): string {
  let browser: string | undefined;
  for (const [pattern, name] of BROWSERS) {
    const match = pattern.exec(userAgent);
    if (match) {
      browser = `${name} ${match[1]}`;
      break;
    }
  }
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? (system ? `a browser on ${system}` : userAgent);
}

/** A moment for people, in UTC to the minute: "2025-03-01 14:05 UTC"; "unknown" when the backend keeps none. */
export function formatMoment(date: Date | null): string {
  return date ? `${date.toISOString().slice(0, 16).replace("T", " ")} UTC` : "unknown";
}
