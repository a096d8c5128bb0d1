/**
 * Cross-site request forgery protection without tokens: a browser says where a request comes
 * from, in `Sec-Fetch-Site` (every current browser) and `Origin` (on every cross-origin POST
 * for years). A state-changing request is refused when the browser says it came from another
 * site or origin. A request with neither header did not come from a current browser (curl, a
 * script); a forged request needs the victim's browser, so such requests pass. Safe methods
 * (GET, HEAD, OPTIONS) always pass: they change nothing that matters here.
 */

/** What the check looks at in a request. */
export interface RequestOrigin {
  method: string;
  /** The host the request was sent to (the `Host` header, or `X-Forwarded-Host` from a trusted proxy). */
  host: string | undefined;
  origin: string | undefined;
  secFetchSite: string | undefined;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Why a request is refused as cross-site, or undefined when it may go on. */
export function crossSiteRefusal(request: RequestOrigin): string | undefined {
  if (SAFE_METHODS.has(request.method.toUpperCase())) return undefined;
  const site = request.secFetchSite?.trim().toLowerCase();
  if (site) {
    // "none": typed in the address bar or opened from a bookmark, not sent by another page.
    if (site === "same-origin" || site === "none") return undefined;
    return `Sec-Fetch-Site is ${JSON.stringify(site)}`;
  }
  const origin = request.origin?.trim();
  if (origin) {
    if (origin !== "null" && request.host && hostOf(origin) === request.host.toLowerCase()) return undefined;
    return "its Origin is not this site";
  }
  return undefined;
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return undefined;
  }
}

/** One header's value as a string (the first, when it was sent more than once). */
export function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
