/**
 * One line describing an error for a person: the message, or for an error without one (Node's
 * AggregateError when every address of a host refused) the messages or codes inside it.
 * Errors wrapped as another error's `message` (databank does that) are unwrapped.
 */
export function describeError(error: unknown): string {
  const text = messageOf(error, 0) || "unknown error";
  return text.replace(/\s+/g, " ").trim();
}

function messageOf(error: unknown, depth: number): string {
  if (depth > 5) return "";
  if (!(error instanceof Error)) return String(error);
  const message: unknown = error.message;
  if (message instanceof Error) return messageOf(message, depth + 1);
  if (typeof message === "string" && message) return message;
  if (error instanceof AggregateError && error.errors.length > 0) {
    return [...new Set(error.errors.map((inner) => messageOf(inner, depth + 1)))].join("; ");
  }
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : error.name;
}
