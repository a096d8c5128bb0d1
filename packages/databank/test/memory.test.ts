import { backendConformance, storeConformance } from "@sessionkit/conformance";
import { afterAll } from "vitest";
import { databankAdapter } from "../src/index.js";
import { bankCall, memoryBank } from "./helpers.js";

// One bank the test owns, shared by every adapter below as processes would share a database:
// the adapters must never disconnect it.
const shared = memoryBank();
afterAll(async () => {
  const bank = await shared;
  await bankCall((cb) => bank.disconnect(cb));
});

backendConformance("databank memory, compact layout", async () =>
  databankAdapter(await shared, { type: "conf_compact" }),
);
backendConformance("databank memory, connect-databank layout", async () =>
  databankAdapter(await shared, { type: "conf_legacy", connectDatabank: true }),
);
backendConformance(
  "databank memory ({ driver: 'memory' }: a bank of its own)",
  () => databankAdapter({ driver: "memory" }),
  {
    shared: false,
  },
);
storeConformance("databank memory, compact layout", async () =>
  databankAdapter(await shared, { type: "store_compact" }),
);
storeConformance("databank memory, connect-databank layout", async () =>
  databankAdapter(await shared, { type: "store_legacy", connectDatabank: true }),
);
