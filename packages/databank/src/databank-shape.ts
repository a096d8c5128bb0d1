/**
 * The part of databank's callback API this adapter uses, typed by its shape (databank ships
 * no types). Both databank 1.x and the 0.19 line that databank-redis brings implement it.
 */

/** Databank's completion callback: an error (or null) and, for reads, the value. */
export type BankCallback<T = unknown> = (error: unknown, value?: T) => void;

/** A connected databank (`Databank.get(driver, params)` after `connect`). */
export interface DatabankLike {
  connect(params: object, callback: BankCallback): void;
  disconnect(callback: BankCallback): void;
  create(type: string, id: string, value: unknown, callback: BankCallback): void;
  read(type: string, id: string, callback: BankCallback): void;
  update(type: string, id: string, value: unknown, callback: BankCallback): void;
  save(type: string, id: string, value: unknown, callback: BankCallback): void;
  del(type: string, id: string, callback: BankCallback): void;
  readAll(type: string, ids: string[], callback: BankCallback<Record<string, unknown>>): void;
  scan(type: string, onResult: (value: unknown) => void, callback: BankCallback): void;
  incr(type: string, id: string, callback: BankCallback<number>): void;
}

/** What `import("databank")` gives: the class with its static factory. */
export interface DatabankModule {
  Databank: { get(driver: string, params: object): DatabankLike };
}

/** Ask the adapter to create, connect and (at close) disconnect a databank itself. */
export interface DatabankSpec {
  /** The driver name given to `Databank.get`, e.g. `"memory"`, `"redis"`, `"mongodb"`. */
  driver: string;
  /** The driver's parameters, e.g. `{ host, port, database }` for redis. Default: `{}`. */
  params?: object;
}
