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
