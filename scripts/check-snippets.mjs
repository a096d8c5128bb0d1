// Follows every README the way a new user would: packs the public packages, installs the
// tarballs into a fresh project, compiles every TypeScript snippet of every README in strict
// TypeScript (ESM, module nodenext, skipLibCheck false), runs the snippets marked
// `<!-- snippet: run -->` (they must finish and exit on their own), and requires every package
// from CommonJS. A block that is not meant to compile says why in a comment right above it:
// `<!-- snippet: not compiled (reason) -->`. A block that another one imports is written under
// the file name it gives: `<!-- snippet: file map-adapter.ts -->` (a `.d.ts` name gives a declaration file).
//
// Usage: node scripts/check-snippets.mjs [--only=core,knex] [--keep]   (--keep leaves the project for inspection)
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const keep = process.argv.includes("--keep");
// --only=core,knex checks those packages' READMEs (and not the root README); default: all.
const only = process.argv
  .find((a) => a.startsWith("--only="))
  ?.slice(7)
  .split(",");
const work = mkdtempSync(join(tmpdir(), "sessionkit-snippets-"));
const pnpmArgs = process.env.npm_execpath ? [process.env.npm_execpath] : [];
const pnpm = (args, cwd, stdio = "ignore") =>
  pnpmArgs.length > 0
    ? execFileSync(process.execPath, [...pnpmArgs, ...args], { cwd, stdio })
    : execFileSync("npx", ["--yes", "pnpm@10.34.9", ...args], { cwd, stdio });

const publicPackages = readdirSync(join(root, "packages"))
  .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8")) }))
  .filter(({ pkg }) => !pkg.private);

// Versions of third-party packages, as the workspace pins them (the snippets use the same).
const versions = {};
for (const dir of readdirSync(join(root, "packages"))) {
  const pkg = JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8"));
  for (const field of ["devDependencies", "dependencies", "peerDependencies"]) {
    for (const [name, range] of Object.entries(pkg[field] ?? {})) {
      if (!name.startsWith("@sessionkit/") && !range.startsWith("workspace:") && !versions[name])
        versions[name] = range;
    }
  }
}
const rootPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
for (const [name, range] of Object.entries(rootPkg.devDependencies)) versions[name] ??= range;

// 1. Pack.
const tarballs = join(work, "tarballs");
mkdirSync(tarballs);
const packed = {};
for (const { dir, pkg } of publicPackages) {
  const before = new Set(readdirSync(tarballs));
  pnpm(["pack", "--pack-destination", tarballs], join(root, "packages", dir));
  packed[pkg.name] = `file:${join(
    tarballs,
    readdirSync(tarballs).find((f) => !before.has(f)),
  )}`;
}

// 2. Collect the snippets.
const readmes = [
  ...(only ? [] : ["README.md"]),
  ...publicPackages.filter(({ dir }) => !only || only.includes(dir)).map(({ dir }) => `packages/${dir}/README.md`),
];
const snippets = [];
for (const readme of readmes) {
  const text = readFileSync(join(root, readme), "utf8");
  const block = /(<!--\s*snippet:\s*([^>]*?)\s*-->\s*\n)?```(ts|typescript)\n([\s\S]*?)```/g;
  let n = 0;
  for (const match of text.matchAll(block)) {
    n++;
    const marker = match[2] ?? "";
    if (marker.startsWith("not compiled")) continue;
    const file = marker.startsWith("file ") ? marker.slice(5).trim().replace(/\.ts$/, "") : undefined;
    const name = file ?? `${readme.replace(/\/README\.md$|README\.md$/, "").replace(/^packages\//, "") || "root"}-${n}`;
    snippets.push({ readme, name, code: match[4], run: marker === "run" });
  }
}

// 3. A fresh project that depends on the tarballs and on what the snippets import.
const project = join(work, "project");
mkdirSync(join(project, "src"), { recursive: true });
const dependencies = { ...packed, typescript: versions.typescript, "@types/node": versions["@types/node"] };
const importPattern = /from\s+"([^"]+)"|import\s*\(\s*"([^"]+)"\s*\)|require\(\s*"([^"]+)"\s*\)/g;
for (const { code } of snippets) {
  for (const m of code.matchAll(importPattern)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec.startsWith("node:") || spec.startsWith(".") || spec.startsWith("@sessionkit/")) continue;
    const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
    if (dependencies[name]) continue;
    if (!versions[name]) throw new Error(`a README snippet imports ${name}, which no workspace package pins`);
    dependencies[name] = versions[name];
    const types = `@types/${name.replace(/^@/, "").replace("/", "__")}`;
    if (versions[types]) dependencies[types] = versions[types];
  }
}
writeFileSync(
  join(project, "package.json"),
  JSON.stringify(
    {
      name: "sessionkit-snippets",
      private: true,
      type: "module",
      dependencies,
      pnpm: {
        overrides: Object.fromEntries(Object.entries(packed)),
        onlyBuiltDependencies: ["better-sqlite3", "leveldown"],
      },
    },
    null,
    2,
  ),
);
writeFileSync(
  join(project, "tsconfig.json"),
  JSON.stringify({
    compilerOptions: {
      target: "ES2022",
      module: "nodenext",
      moduleResolution: "nodenext",
      strict: true,
      skipLibCheck: false,
      types: ["node"],
      outDir: "dist",
      rootDir: "src",
    },
    include: ["src"],
  }),
);
// A declaration file (`file x.d.ts`) stays a script: `export {}` would turn its `declare module` into an augmentation.
for (const { name, code } of snippets) {
  writeFileSync(join(project, "src", `${name}.ts`), name.endsWith(".d") ? code : `${code}\nexport {};\n`);
}
// CommonJS: every package loads through require() (Node 20.19+ loads ES modules from require).
const cjs = publicPackages
  .map(
    ({ pkg }) =>
      `if (Object.keys(require(${JSON.stringify(pkg.name)})).length === 0) throw new Error("${pkg.name} exports nothing");`,
  )
  .join("\n");
writeFileSync(join(project, "require-all.cjs"), `${cjs}\nconsole.log("require() of every package: ok");\n`);

let failed = false;
const step = (what, run) => {
  try {
    run();
    console.log(`ok   ${what}`);
  } catch (error) {
    failed = true;
    console.error(`FAIL ${what}\n${error.stdout?.toString() ?? ""}${error.stderr?.toString() ?? error.message}`);
  }
};
step("install the packed packages into a fresh project", () => pnpm(["install", "--prefer-offline"], project, "pipe"));
const tsc = join(project, "node_modules", "typescript", "bin", "tsc");
step(`compile ${snippets.length} README snippets (strict, nodenext, skipLibCheck false)`, () =>
  execFileSync(process.execPath, [tsc, "-p", "."], { cwd: project, stdio: "pipe" }),
);
step("require() every package from CommonJS", () =>
  execFileSync(process.execPath, ["require-all.cjs"], { cwd: project, stdio: "pipe" }),
);
for (const { readme, name } of snippets.filter((s) => s.run)) {
  step(`run the ${readme} snippet ${name} to its end`, () =>
    execFileSync(process.execPath, [join("dist", `${name}.js`)], { cwd: project, stdio: "pipe", timeout: 30_000 }),
  );
}
if (keep) console.log(`project kept in ${project}`);
else rmSync(work, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
