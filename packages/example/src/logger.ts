import pino, { type Logger } from "pino";
import pretty from "pino-pretty";

/**
 * The app's logger: readable colours in a terminal, one JSON object per line otherwise (for
 * log collectors). `LOG_LEVEL` sets the level (default info).
 */
export function createLogger(options: { tty?: boolean; level?: string } = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? "info";
  const tty = options.tty ?? process.stdout.isTTY === true;
  // Synchronous writes: lines stay in order and none is lost when the process exits.
  if (!tty) return pino({ level, name: "sessionkit-demo" }, pino.destination({ dest: 1, sync: true }));
  // Pretty printing in this thread (no transport worker), so nothing is lost at exit.
  return pino({ level, name: "sessionkit-demo" }, pretty({ colorize: true, sync: true }));
}
