#!/usr/bin/env node
// The demo app's entry point: `node packages/example/dist/main.js` (or `pnpm start` at the root).
import { type AppConfig, readConfig } from "./config.js";
import { describeError } from "./errors.js";
import { createLogger } from "./logger.js";
import { startDemo } from "./start.js";

/** One line on stderr, exit code 1: a configuration or startup mistake is not a crash. */
function fail(message: string): never {
  process.stderr.write(`sessionkit demo: ${message}\n`);
  process.exit(1);
}

let config: AppConfig;
try {
  config = readConfig(process.env);
} catch (error) {
  fail(describeError(error));
}

const logger = createLogger();
const demo = await startDemo(config, logger).catch((error: unknown) => fail(describeError(error)));
logger.info({ backend: config.backend }, `sessionkit demo on ${demo.label}: ${demo.url}`);

/** Exits once the log lines written so far have reached stdout. */
function exit(code: number): void {
  logger.flush(() => process.exit(code));
}

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) {
    logger.warn(`${signal} again: exiting without waiting`);
    exit(1);
  }
  stopping = true;
  logger.info(`${signal}: finishing requests and closing the session store`);
  demo.close().then(
    () => {
      logger.info("stopped");
      exit(0);
    },
    (error: unknown) => {
      logger.error({ err: error }, "shutdown failed");
      exit(1);
    },
  );
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
