/**
 * A minimal HTTP client with a cookie jar: one browser talking to a test app over real HTTP. It
 * keeps what `Set-Cookie` says (a cleared or expired cookie is dropped) and sends it back.
 */
export class Browser {
  private readonly jar = new Map<string, string>();

  /**
   * @param baseUrl the app's address, e.g. `http://127.0.0.1:3000`
   * @param cookieName the session cookie's name (express-session: `connect.sid`; @fastify/session: `sessionId`)
   */
  constructor(
    private readonly baseUrl: string,
    private readonly cookieName = "connect.sid",
  ) {}

  /** Sends a request with this browser's cookies and keeps the ones the server sets. */
  async request(method: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const cookie = [...this.jar].map(([name, value]) => `${name}=${value}`).join("; ");
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: cookie ? { cookie } : {},
      redirect: "manual",
    });
    for (const line of response.headers.getSetCookie()) this.keep(line);
    const text = await response.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { text };
    }
    return { status: response.status, body };
  }

  /** The session id inside the signed session cookie (`s:<id>.<signature>` or `<id>.<signature>`). */
  get sessionId(): string | undefined {
    const raw = this.jar.get(this.cookieName);
    if (raw === undefined) return undefined;
    const value = decodeURIComponent(raw);
    const signed = value.startsWith("s:") ? value.slice(2) : value;
    const dot = signed.lastIndexOf(".");
    return dot > 0 ? signed.slice(0, dot) : undefined;
  }

  /**
   * Another browser holding a copy of this one's cookies: a second tab whose responses don't
   * change this one's jar, or a replayed (stolen, saved) cookie.
   */
  fork(): Browser {
    const other = new Browser(this.baseUrl, this.cookieName);
    for (const [name, value] of this.jar) other.jar.set(name, value);
    return other;
  }

  /** Copies another browser's cookies, like a stolen or replayed cookie. */
  useCookieOf(other: Browser): void {
    this.jar.clear();
    for (const [name, value] of other.jar) this.jar.set(name, value);
  }

  private keep(setCookie: string): void {
    const [pair = "", ...attributes] = setCookie.split(";");
    const eq = pair.indexOf("=");
    if (eq <= 0) return;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    let cleared = value === "";
    for (const attribute of attributes) {
      const [key = "", val = ""] = attribute.split("=");
      const k = key.trim().toLowerCase();
      if (k === "max-age" && Number(val) <= 0) cleared = true;
      if (k === "expires" && Date.parse(val) <= Date.now()) cleared = true;
    }
    if (cleared) this.jar.delete(name);
    else this.jar.set(name, value);
  }
}
