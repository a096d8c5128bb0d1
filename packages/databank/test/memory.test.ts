import { backendConformance, storeConformance } from "@sessionkit/conformance";
import { afterAll } from "vitest";
import { type DatabankLike, databankAdapter } from "../src/index.js";
import { bankCall, connectedBank } from "./helpers.js";

// A bank the test owns and shares between adapters: the adapter must never disconnect it.
let shared: Promise<DatabankLike> | undefined;
const bank = () => (shared ??= connectedBank("memory"));
afterAll(async () => {
  const b = await shared;
  if (b) await bankCall((cb) => b.disconnect(cb));
});

backendConformance("databank memory (user's bank)", async () =>
  databankAdapter(await bank(), { type: "conf_backend" }),
);
storeConformance("databank memory (user's bank)", async () => databankAdapter(await bank(), { type: "conf_store" }));
backendConformance("databank memory ({ driver, params })", () => databankAdapter({ driver: "memory" }));
