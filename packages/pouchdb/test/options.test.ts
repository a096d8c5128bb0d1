import { ErrorCodes, isSessionStoreError } from "@sessionkit/core";
import { type PouchdbAdapterOptions, pouchdbAdapter } from "@sessionkit/pouchdb";
import { describe, expect, it } from "vitest";

function configFailure(make: () => unknown): { code?: string; message: string } {
  try {
    make();
  } catch (error) {
    if (isSessionStoreError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("expected a configuration error");
}

describe("pouchdbAdapter configuration", () => {
  it.each([
    ["a number", 42, "target"],
    ["an object that is not a PouchDB", { get() {} }, "target"],
    ["a string that is not a URL", "not a url", "target"],
    ["a non-http URL", "ftp://127.0.0.1/sessions", "target"],
    ["a URL without a database", "http://127.0.0.1:5984/", "target"],
  ])("rejects %s as target, naming it", (_label, target, option) => {
    const failure = configFailure(() => pouchdbAdapter(target as never));
    expect(failure.code).toBe(ErrorCodes.CONFIG);
    expect(failure.message).toContain(`"${option}"`);
  });

  it.each<[keyof PouchdbAdapterOptions, unknown]>([
    ["createDatabase", "yes"],
    ["requestTimeout", 0],
    ["requestTimeout", 1.5],
    ["revisionCacheSize", -1],
    ["maxConflictRetries", Number.NaN],
    ["compactAfterPrune", 1],
    ["legacyTtl", "1d"],
    ["pageSize", 0],
  ])("rejects %s = %s, naming the option", (option, value) => {
    const failure = configFailure(() => pouchdbAdapter(undefined, { [option]: value }));
    expect(failure.code).toBe(ErrorCodes.CONFIG);
    expect(failure.message).toContain(`"${option}"`);
  });

  it("rejects options that are not an object", () => {
    expect(configFailure(() => pouchdbAdapter(undefined, "fast" as never)).code).toBe(ErrorCodes.CONFIG);
  });

  it("names itself after the database kind and never shows URL credentials", async () => {
    const memory = pouchdbAdapter();
    expect(memory.name).toBe("pouchdb:memory");
    await memory.close();
    const remote = pouchdbAdapter("http://admin:secret@127.0.0.1:1/sessions", { createDatabase: false });
    expect(remote.name).toBe("pouchdb:http");
    const failure = await remote.init().then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failure?.message).toContain("database http://127.0.0.1:1/sessions cannot be opened or created");
    expect(failure?.message).not.toContain("secret");
    await remote.close();
  });
});
