import { execFile } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

// The README's TypeScript snippets, compiled against the built package (strict, library checks on,
// no @types/pouchdb), in a directory under this package's node_modules so packages resolve as for a user.
const packageDir = fileURLToPath(new URL("..", import.meta.url));
const dir = join(packageDir, "node_modules", ".cache", `sessionkit-typescript-${process.pid}`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const app = `import PouchDB from "pouchdb";
import { createStore } from "@sessionkit/core";
import { pouchdbAdapter } from "@sessionkit/pouchdb";

const db = new PouchDB("./data/sessions");
export const store = createStore(pouchdbAdapter(db), { ttl: 86_400 });
`;

const declarations = {
  // The one line: PouchDB is \`any\`, the adapter still checks what it is given by shape.
  shorthand: `declare module "pouchdb";\n`,
  typed: `declare module "pouchdb" {
  import type { PouchDatabase } from "@sessionkit/pouchdb";
  const PouchDB: new (name: string, options?: object) => PouchDatabase & { close(): Promise<void> };
  export default PouchDB;
}
`,
};

/** Compiles the files; resolves with tsc's report ("" when it found nothing). */
async function compile(files: Record<string, string>): Promise<string> {
  const project = join(dir, String(Math.random()).slice(2));
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, "package.json"), JSON.stringify({ type: "module" }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(project, name), text);
  const compilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true, // as most projects; the package's own declarations are checked by its build
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    types: ["node"],
    paths: { "@sessionkit/pouchdb": [join(packageDir, "dist", "index.d.ts")] },
  };
  writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ compilerOptions, files: Object.keys(files) }));
  const tsc = createRequire(join(packageDir, "..", "..", "package.json")).resolve("typescript/bin/tsc");
  try {
    await promisify(execFile)(process.execPath, [tsc, "-p", project]);
    return "";
  } catch (error) {
    return String((error as { stdout?: string }).stdout);
  }
}

describe("the README's TypeScript setup (no @types/pouchdb)", () => {
  it("compiles with the one-line declaration of pouchdb, and with the typed one", async () => {
    const wrong = app.replace("pouchdbAdapter(db)", "pouchdbAdapter({ get: db.get, put: db.put })");
    const [shorthand, typed] = await Promise.all([
      compile({ "app.ts": app, "pouchdb.d.ts": declarations.shorthand }),
      compile({ "app.ts": app, "wrong.ts": wrong, "pouchdb.d.ts": declarations.typed }),
    ]);
    expect(shorthand).toBe("");
    // Typed, a database without map/reduce (query, allDocs, ...) is an error where it is passed.
    expect(typed.trim().split("\n")[0]).toMatch(/wrong\.ts\(6,[0-9]+\): error TS2345/);
    expect(typed).not.toContain("app.ts");
  }, 120_000); // two tsc runs: tens of seconds on a busy 2-core machine
});
