import { ErrorCodes, isSessionStoreError } from "@sessionkit/core";
import { pouchdbAdapter } from "@sessionkit/pouchdb";
import { describe, expect, it } from "vitest";
import { memoryDatabase } from "./support/pouch.js";

function configFailure(make: () => unknown): string {
  try {
    make();
  } catch (error) {
    if (isSessionStoreError(error, ErrorCodes.CONFIG)) return error.message;
    throw error;
  }
  throw new Error("expected a configuration error");
}

describe("pouchdbAdapter options", () => {
  it.each([
    ["a number", 42],
    ["an object that is not a PouchDB database", { get() {} }],
    ["a string that is not a URL", "not a url"],
    ["a non-http URL", "ftp://127.0.0.1/sessions"],
    ["a URL without a database", "http://127.0.0.1:5984/"],
  ])("refuse %s as target, naming it", (_label, target) => {
    expect(configFailure(() => pouchdbAdapter(target as never))).toContain('option "target" of pouchdbAdapter');
  });

  it.each([
    ["legacy", "connect-pouchdb"],
    ["legacyTtl", "1d"],
    ["legacyTtl", 0],
    ["revisionCacheSize", -1],
    ["maxConflictRetries", Number.NaN],
    ["pageSize", 0],
    ["createDatabase", "yes"],
    ["requestTimeout", 1.5],
  ])("refuse %s = %s, naming the option", (option, value) => {
    const message = configFailure(() => pouchdbAdapter("http://127.0.0.1:5984/sessions", { [option]: value }));
    expect(message).toContain(`option "${option}" of pouchdbAdapter`);
  });

  it("refuse a misspelt option, listing the known ones", () => {
    const message = configFailure(() => pouchdbAdapter(undefined, { revisonCacheSize: 10 } as never));
    expect(message).toContain('option "revisonCacheSize" is not an option of pouchdbAdapter');
    expect(message).toContain("revisionCacheSize");
  });

  it("refuse options of URL targets for other targets, rather than ignore them", () => {
    expect(configFailure(() => pouchdbAdapter(undefined, { requestTimeout: 100 }))).toContain(
      'option "requestTimeout" of pouchdbAdapter applies only to a URL target',
    );
    expect(configFailure(() => pouchdbAdapter(memoryDatabase(), { createDatabase: false }))).toContain(
      'option "createDatabase"',
    );
  });

  it("name the backend after its database, never with URL credentials", async () => {
    expect(pouchdbAdapter().name).toBe("pouchdb:memory");
    expect(pouchdbAdapter(memoryDatabase()).name).toBe("pouchdb:leveldb");
    const remote = pouchdbAdapter("http://admin:secret@127.0.0.1:1/sessions", { requestTimeout: 500 });
    expect(remote.name).toBe("pouchdb:http");
    const failure = await remote.init().then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failure?.message).toContain("database http://127.0.0.1:1/sessions could not be opened");
    expect(failure?.message).not.toContain("secret");
    await remote.close();
  });

  it("declare the legacy capability only in session-pouchdb-store's layout", () => {
    expect(pouchdbAdapter().capabilities.legacy).toBeUndefined();
    expect(pouchdbAdapter(undefined, { legacy: "session-pouchdb-store" }).capabilities).toMatchObject({
      legacy: "session-pouchdb-store",
      tombstones: true,
      createdAt: true,
      owners: true,
    });
  });
});
