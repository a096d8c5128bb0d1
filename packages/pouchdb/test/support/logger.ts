import { Writable } from "node:stream";
import pino from "pino";

/** A pino logger at trace level whose JSON lines land in an array. */
export function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  return { logger: pino({ level: "trace" }, stream), lines };
}

/** A session as express-session hands it to a store, expiring in an hour from `now`. */
export function session(fields: Record<string, unknown> = {}, now = Date.now()) {
  return {
    cookie: { originalMaxAge: 3_600_000, expires: new Date(now + 3_600_000).toISOString(), httpOnly: true, path: "/" },
    ...fields,
  };
}
