import { describe, expect, it } from "vitest";
import {
  describeDevice,
  deviceOf,
  formatMoment,
  HANDLE_LENGTH,
  isHandle,
  MAX_USER_AGENT,
  SessionHandles,
} from "../src/devices.js";

describe("session handles", () => {
  const handles = new SessionHandles("a-secret-of-enough-length-0123456789");

  it("are short, URL-safe, stable, and differ between sessions and between secrets", () => {
    const id = "Zx8d2Kq0pVn3sT5wY7aB9cD1eF4gH6jL";
    const handle = handles.of(id);
    expect(handle).toHaveLength(HANDLE_LENGTH);
    expect(isHandle(handle)).toBe(true);
    expect(handles.of(id)).toBe(handle);
    expect(handles.of(`${id}x`)).not.toBe(handle);
    expect(new SessionHandles("another-secret-of-enough-length-987").of(id)).not.toBe(handle);
    expect(handle).not.toContain(id.slice(0, 6));
  });

  it("find a session among a list, and nothing for an unknown handle", () => {
    const sessions = [{ id: "one-session-id" }, { id: "two-session-id" }];
    expect(handles.find(sessions, handles.of("two-session-id"))).toBe(sessions[1]);
    expect(handles.find(sessions, handles.of("three-session-id"))).toBeUndefined();
  });

  it("only handle-shaped strings pass isHandle", () => {
    for (const value of ["", "a".repeat(15), "a".repeat(17), `${"a".repeat(15)}=`, 42, null, undefined]) {
      expect(isHandle(value)).toBe(false);
    }
  });
});

describe("devices", () => {
  it.each([
    [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70",
      "Edge 131 on Windows",
    ],
    ["Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox 128 on Linux"],
    [
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
      "Safari 17 on macOS",
    ],
    [
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
      "Safari 17 on iOS",
    ],
    [
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
      "Headless Chrome 131 on Linux",
    ],
    ["curl/8.5.0", "curl 8"],
    ["SomeBot/1.0", "SomeBot/1.0"],
  ])("names %s as %s", (agent, name) => {
    expect(describeDevice(agent)).toBe(name);
  });

  it("keeps a bounded, one-line, never empty user agent in the session", () => {
    expect(deviceOf(undefined)).toBe("unknown device");
    expect(deviceOf("  \n ")).toBe("unknown device");
    expect(deviceOf("a\n\tb")).toBe("a b");
    expect(deviceOf("x".repeat(1000))).toHaveLength(MAX_USER_AGENT);
  });

  it("formats moments in UTC to the minute, and a missing one as unknown", () => {
    expect(formatMoment(new Date(Date.UTC(2025, 2, 1, 14, 5, 59)))).toBe("2025-03-01 14:05 UTC");
    expect(formatMoment(null)).toBe("unknown");
  });
});
