export { backendConformance } from "./backend-suite.js";
export { awkwardIds, largePayload, payload, unicodePayload, uniqueId, write } from "./fixtures.js";
export { Browser } from "./http-client.js";
export type { ConformanceOptions } from "./options.js";
export { serviceGate } from "./service-gate.js";
export { storeConformance } from "./store-suite.js";
export { startTestApp, type TestApp } from "./test-app.js";
