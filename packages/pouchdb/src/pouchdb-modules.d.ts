// The PouchDB plugins ship no type declarations; we only pass them to `PouchDB.plugin`.
declare module "pouchdb-adapter-memory" {
  const plugin: unknown;
  export default plugin;
}
declare module "pouchdb-adapter-http" {
  const plugin: unknown;
  export default plugin;
}
declare module "pouchdb-mapreduce" {
  const plugin: unknown;
  export default plugin;
}
// Typed by the shape we use (see pouch-types.ts) rather than by @types/pouchdb-core, whose
// global `interface Buffer` clashes with Node's Buffer types in every program that loads it.
declare module "pouchdb-core" {
  const PouchDB: unknown;
  export default PouchDB;
}
