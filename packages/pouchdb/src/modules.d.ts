// pouchdb and memdown ship no types (@types/pouchdb is old, and its global Buffer breaks Node's
// types). The adapter types what it uses of them by shape (types.ts); these only name the modules.
declare module "pouchdb" {
  const PouchDB: unknown;
  export default PouchDB;
}
declare module "memdown" {
  const memdown: unknown;
  export default memdown;
}
