// Every public option carries TSDoc that states its default (or says it is required).
// Walks the option interfaces each package's entry point exports (names ending in "Options",
// and the interfaces their properties point to), through the TypeScript compiler API.
import { fileURLToPath } from "node:url";
import ts from "typescript";

const packages = ["core", "knex", "pouchdb", "databank", "redis", "conformance"];
const entry = (pkg) => fileURLToPath(new URL(`../packages/${pkg}/src/index.ts`, import.meta.url));
const program = ts.createProgram(
  [...packages.map(entry), fileURLToPath(new URL("../packages/core/src/kit/index.ts", import.meta.url))],
  { strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true },
);
const checker = program.getTypeChecker();
const states = /\bDefault\b|\bdefaults? to\b|\bRequired\b|@default/i;
const problems = [];
let checked = 0;

function docOf(symbol) {
  const text = ts.displayPartsToString(symbol.getDocumentationComment(checker));
  const tags = symbol.getJsDocTags(checker).map((t) => `@${t.name} ${ts.displayPartsToString(t.text ?? [])}`);
  return [text, ...tags].join("\n");
}

function walk(pkg, name, type, seen) {
  if (seen.has(type)) return;
  seen.add(type);
  for (const property of checker.getPropertiesOfType(type)) {
    const decl = property.declarations?.[0];
    if (!decl || decl.getSourceFile().fileName.includes("node_modules")) continue;
    checked++;
    if (process.env.TSDOC_LIST) console.log(`${pkg}: ${name}.${property.name}`);
    const doc = docOf(property);
    const where = `${pkg}: ${name}.${property.name}`;
    if (!doc.trim()) problems.push(`${where} has no TSDoc`);
    else if (!states.test(doc)) problems.push(`${where} does not state its default`);
    // Nested option objects (encryption: { ... }) are options too.
    const inner = checker.getNonNullableType(checker.getTypeOfSymbol(property));
    const innerName = inner.aliasSymbol?.name ?? inner.getSymbol()?.name ?? "";
    if (inner.isClassOrInterface?.() && /Options$/.test(innerName)) walk(pkg, innerName, inner, seen);
  }
}

for (const pkg of packages) {
  const source = program.getSourceFile(entry(pkg));
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`can't read ${entry(pkg)}`);
  for (let symbol of checker.getExportsOfModule(moduleSymbol)) {
    if (!/Options$/.test(symbol.name)) continue;
    if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    if (!(symbol.flags & ts.SymbolFlags.Interface)) continue;
    walk(pkg, symbol.name, checker.getDeclaredTypeOfSymbol(symbol), new Set());
  }
}

if (problems.length > 0) {
  console.error(`TSDoc: ${problems.length} public option(s) without a stated default:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`TSDoc: ${checked} public options, each documented with its default`);
