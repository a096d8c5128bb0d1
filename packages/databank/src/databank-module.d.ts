// databank has no types; the adapter imports it only to create a bank from `{ driver, params }`.
declare module "databank" {
  const databank: import("./databank-shape.js").DatabankModule;
  export default databank;
}
