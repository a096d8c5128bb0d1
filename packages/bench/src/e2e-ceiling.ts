// A child process for the end-to-end benchmark: the example app's own code (its compiled
// createApp), with express-session's MemoryStore instead of sessionkit: the in-process ceiling.
// Usage: node e2e-ceiling.js PORT
import { createRequire } from "node:module";
import pino from "pino";

const require = createRequire(import.meta.url);
const port = Number(process.argv[2] ?? 0);

// The example is built by `pnpm build` before the bench; imported by path, as it is not a dependency.
const app = (await import(new URL("../../example/dist/app.js", import.meta.url).href)) as {
  createApp(options: Record<string, unknown>): import("node:http").RequestListener;
};
const server = (await import(new URL("../../example/dist/server.js", import.meta.url).href)) as {
  listen(
    handler: import("node:http").RequestListener,
    port: number,
    host: string,
  ): Promise<{ url: string; close(): Promise<void> }>;
};

const { MemoryStore } = require("express-session") as { MemoryStore: new () => object };
const listening = await server.listen(
  app.createApp({
    store: new MemoryStore(),
    secret: "benchmark-secret-benchmark-secret",
    logger: pino({ level: "warn" }),
    backendLabel: "express-session MemoryStore",
  }),
  port,
  "127.0.0.1",
);
process.stdout.write(`${listening.url}\n`);
process.once("SIGTERM", () => {
  listening.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`close failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
