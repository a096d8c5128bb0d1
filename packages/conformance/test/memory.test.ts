import { memoryBackend } from "@sessionkit/core";
import { backendConformance, storeConformance } from "../src/index.js";

// The suite's self-test: the reference backend must pass it.
backendConformance("memoryBackend", () => memoryBackend(), { shared: false });
storeConformance("memoryBackend", () => memoryBackend(), { shared: false });
