import pino, { type Logger } from "pino";

/** One line a store logged, as pino wrote it. */
export interface LogLine {
  level: number;
  msg?: string;
  [field: string]: unknown;
}

/** A real pino logger (level info) that writes its lines into an array, for assertions on what a store says. */
export function captureLogs(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}

/** pino's numeric levels. */
export const LogLevel = { info: 30, warn: 40, error: 50 } as const;
