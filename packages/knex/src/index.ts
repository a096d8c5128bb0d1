export { knexAdapter } from "./adapter.js";
export type { KnexAdapterOptions } from "./options.js";
