/** A minimal HTTP client with one cookie jar: one "browser" talking to the test app over real HTTP. */
export class Browser {
  private cookie: string | undefined;

  constructor(private readonly baseUrl: string) {}

  /** Sends a request with this browser's cookie and keeps the one the server sets. */
  async request(method: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: this.cookie ? { cookie: this.cookie } : {},
    });
    const setCookie = response.headers.get("set-cookie");
    if (setCookie) this.cookie = setCookie.split(";")[0];
    const text = await response.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { text };
    }
    return { status: response.status, body };
  }

  /** The session id inside the signed cookie (`connect.sid=s:<id>.<signature>`). */
  get sessionId(): string | undefined {
    const value = this.cookie && decodeURIComponent(this.cookie.split("=")[1] ?? "");
    return value?.startsWith("s:") ? value.slice(2, value.lastIndexOf(".")) : undefined;
  }

  /** Copies another browser's cookie, like a stolen or replayed cookie. */
  useCookieOf(other: Browser): void {
    this.cookie = other.cookie;
  }
}
