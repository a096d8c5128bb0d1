/** Options of `backendConformance` and `storeConformance`. */
export interface ConformanceOptions {
  /** A reason to skip the whole suite (from `serviceGate`), or false to run it. Default: false. */
  skip?: string | false;
  /** Size of the large-payload round trip, in bytes. Default: 1000000 (capped by the backend's maxPayloadBytes). */
  largePayloadBytes?: number;
  /** How many records the streaming test writes (to cross page boundaries). Default: 250. */
  streamRecords?: number;
  /** Whether the backend stores owners; a backend that can't must declare `capabilities.owners: false`. Default: true. */
  owners?: boolean;
}
