import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { backendConformance, storeConformance } from "../src/index.js";
import { mapAdapter } from "./map-adapter.js";

// The custom adapter the README shows passes the whole contract.
backendConformance("mapAdapter (the README's example)", () => mapAdapter(), { shared: false });
storeConformance("mapAdapter (the README's example)", () => mapAdapter(), { shared: false });

describe("the README's custom adapter", () => {
  it("is this tested file, verbatim, in under 100 lines", () => {
    const source = readFileSync(new URL("./map-adapter.ts", import.meta.url), "utf8");
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    expect(readme).toContain(source.trim());
    expect(source.trim().split("\n").length).toBeLessThan(100);
  });
});
