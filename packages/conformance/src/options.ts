/** Options of `backendConformance` and `storeConformance`. */
export interface ConformanceOptions {
  /** A reason to skip the whole suite (from `serviceGate`), or false to run it. Default: false. */
  skip?: string | false;
  /** Size of the large-payload round trip, in bytes. Default: 1600000 (capped by the backend's maxPayloadBytes). */
  largePayloadBytes?: number;
  /** How many records the streaming test writes (to cross page boundaries). Default: 250. */
  streamRecords?: number;
  /**
   * Whether the backend stores owners; a backend that can't must declare `capabilities.owners: false`.
   * With false, `storeConformance` checks that the owner operations fail with `ERR_SESSION_UNSUPPORTED`
   * instead of "log out everywhere", `destroyOthers` and `sessionsOf`. Default: true.
   */
  owners?: boolean;
  /**
   * Whether the backend keeps tombstones (`capabilities.tombstones: true`). A layout without room
   * for them passes false and the tombstone tests are skipped (its README must say what degrades);
   * `storeConformance` then checks, instead of the logout races, that the store says at start that
   * a request in flight can undo a logout, and that a logout still deletes. Default: true.
   */
  tombstones?: boolean;
  /**
   * Whether two backends from the factory share one database (as two processes would), so the
   * tests of cross-instance behaviour (tombstones, stateless GC) run. Default: true.
   */
  shared?: boolean;
  /**
   * The database expires records by itself (`capabilities.expiry: "native"`, e.g. Redis): the
   * tests of `deleteExpired` are skipped (and `storeConformance` doesn't count what `prune`
   * deletes); reads must still honour the `now` they are given.
   * Default: false.
   */
  nativeExpiry?: boolean;
}
