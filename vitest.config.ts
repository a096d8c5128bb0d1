import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources, so `pnpm test` needs no build first.
    alias: {
      "@sessionkit/core": src("core"),
      "@sessionkit/conformance": src("conformance"),
      "@sessionkit/knex": src("knex"),
      "@sessionkit/pouchdb": src("pouchdb"),
      "@sessionkit/databank": src("databank"),
    },
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
