// The PouchDB plugins the tests register on pouchdb-core (as a pouchdb-core user would) ship no types.
declare module "pouchdb-core" {
  const PouchDB: unknown;
  export default PouchDB;
}
declare module "pouchdb-adapter-memory" {
  const plugin: unknown;
  export default plugin;
}
declare module "pouchdb-mapreduce" {
  const plugin: unknown;
  export default plugin;
}
