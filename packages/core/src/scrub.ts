/**
 * Error text from a driver may quote what it was given: a statement with its values (MariaDB),
 * a request URL with the document id or an owner view key (CouchDB), a duplicate key. Before a
 * driver's error reaches a log line or a caller, its text goes through `scrub`: every known
 * secret of the operation (the session id, the owner, the payload) in its plain, URL- and
 * JSON-encoded forms is replaced, URLs keep only their origin, quoted literals that are not plain
 * names are elided, and the text is cut to a bounded length.
 */

const MAX_TEXT = 300;
const REDACTED = "[redacted]";
/** Secrets shorter than this are replaced only as whole tokens; longer ones wherever they appear. */
const WHOLE_TOKEN_BELOW = 8;

/** The parts of a driver error worth keeping: its class, its code and its scrubbed message. */
export interface ScrubbedError {
  name: string;
  message: string;
  code?: string | number;
}

export function scrubText(text: string, secrets: ReadonlyArray<string | null | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of forms(secret)) {
      // A long secret goes wherever it appears (a key prefix may run straight into an id:
      // `sess<id>`); a short one ("a", "7") only as a whole token, so it eats no letters out of words.
      if (form.length >= WHOLE_TOKEN_BELOW) out = out.split(form).join(REDACTED);
      else if (form.length > 0)
        out = out.replace(new RegExp(`(?<![A-Za-z0-9])${escapeRegExp(form)}(?![A-Za-z0-9])`, "g"), REDACTED);
    }
  }
  // URLs: keep the scheme, host and port (no credentials, path or query).
  out = out.replace(/\b([a-z][a-z0-9+.-]*:\/\/)(?:[^\s/@'"]*@)?([^\s/?#'"]+)[^\s'"]*/gi, "$1$2/…");
  // Quoted literals that are not plain names (columns, tables, keys) may be data: elide them.
  out = out.replace(/'([^']*)'|"([^"]*)"|`([^`]*)`/g, (match, a, b, c) => {
    const inner = (a ?? b ?? c) as string;
    return /^[A-Za-z_][A-Za-z0-9_.$ -]{0,63}$/.test(inner) && !inner.includes(REDACTED)
      ? match
      : `${match[0]}…${match[0]}`;
  });
  return out.length > MAX_TEXT ? `${out.slice(0, MAX_TEXT)}…` : out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function forms(secret: string): string[] {
  const json = JSON.stringify(secret);
  return [...new Set([secret, encodeURIComponent(secret), json, encodeURIComponent(json), json.slice(1, -1)])].sort(
    (a, b) => b.length - a.length,
  );
}

/** A driver's rejection (an Error, a plain object or anything) reduced to scrubbed name, code and message. */
export function scrubError(error: unknown, secrets: ReadonlyArray<string | null | undefined>): ScrubbedError {
  const fields = (typeof error === "object" && error !== null ? error : {}) as Record<string, unknown>;
  const name = typeof fields.name === "string" ? fields.name : error instanceof Error ? "Error" : typeof error;
  let message: string;
  if (typeof fields.message === "string") message = fields.message;
  else if (typeof fields.reason === "string") message = fields.reason;
  else if (typeof error === "string") message = error;
  else message = name;
  const code = fields.code ?? fields.status ?? fields.errno;
  return {
    name: scrubText(name, secrets),
    message: scrubText(message, secrets),
    ...(typeof code === "number" ? { code } : typeof code === "string" ? { code: scrubText(code, secrets) } : {}),
  };
}
