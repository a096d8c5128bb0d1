// Packs every public package the way it would be published and checks it with publint
// (package.json and exports correctness) and @arethetypeswrong/cli (types resolve for ESM and
// for require() of ESM on Node 20.19+).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), "sessionkit-pack-"));
const bin = (name) => join(root, "node_modules", ".bin", name);
const run = (cmd, args, cwd = root) => execFileSync(cmd, args, { cwd, stdio: "inherit" });
// Run as a pnpm script, pnpm itself is npm_execpath (CI has no global pnpm, only npx).
const pnpm = (args, cwd) =>
  process.env.npm_execpath
    ? execFileSync(process.execPath, [process.env.npm_execpath, ...args], { cwd, stdio: "ignore" })
    : execFileSync("pnpm", args, { cwd, stdio: "ignore" });

let failed = false;
const only = process.argv.slice(2);
for (const dir of readdirSync(join(root, "packages"))) {
  if (only.length > 0 && !only.includes(dir)) continue;
  const pkgDir = join(root, "packages", dir);
  const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  if (pkg.private) continue;
  console.log(`\n--- ${pkg.name}`);
  try {
    run(bin("publint"), ["run", pkgDir, "--strict"]);
    const before = new Set(readdirSync(out));
    pnpm(["pack", "--pack-destination", out], pkgDir);
    const tarball = readdirSync(out).find((f) => !before.has(f));
    run(bin("attw"), [join(out, tarball), "--profile", "esm-only", "--format", "table-flipped"]);
  } catch {
    failed = true;
    console.error(`${pkg.name}: package check failed`);
  }
}
process.exit(failed ? 1 : 0);
