import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/**
 * vitest global setup: compiles the packages once before any test file runs. Most tests run
 * from the sources, but a few start real child processes on the built packages (process exit,
 * require() from CommonJS, two processes sharing a CouchDB, the demo app's entry point, the bench runner); one
 * build here keeps those files from compiling the same outputs at the same time. A no-op when
 * the build is up to date (as in CI, which builds first).
 */
export default function buildBeforeTests(): void {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const tsc = createRequire(`${root}package.json`).resolve("typescript/bin/tsc");
  // SESSIONKIT_BUILD=core,knex builds only those (for working on one package while others change).
  const only = process.env.SESSIONKIT_BUILD?.split(",").filter(Boolean);
  const names = only ?? ["core", "conformance", "knex", "pouchdb", "databank", "redis", "example", "bench"];
  const packages = names.map((p) => `packages/${p}`);
  execFileSync(process.execPath, [tsc, "-b", ...packages], { cwd: root, stdio: "inherit" });
}
