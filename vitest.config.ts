import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (path: string) => fileURLToPath(new URL(`./packages/${path}`, import.meta.url));
const packages = ["core", "conformance", "knex", "pouchdb", "databank", "redis"];

export default defineConfig({
  resolve: {
    // Tests run against the sources, so `pnpm test` needs no build first.
    alias: [
      { find: /^@sessionkit\/core\/kit$/, replacement: src("core/src/kit/index.ts") },
      ...packages.map((pkg) => ({ find: new RegExp(`^@sessionkit/${pkg}$`), replacement: src(`${pkg}/src/index.ts`) })),
    ],
  },
  test: {
    include: ["packages/*/test/**/*.test.ts"],
    globalSetup: ["./scripts/build-before-tests.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: two workers keep the databases busy without starving the test runner.
    maxWorkers: 2,
  },
});
