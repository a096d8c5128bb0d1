import { createStore, type SessionkitStore } from "@sessionkit/core";
import { pouchdbAdapter } from "@sessionkit/pouchdb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { couchForTests } from "./support/couch.js";
import { buildPackages, type Peer, requireFromCommonJs, startPeer } from "./support/peer-process.js";
import { countingPouch, PouchDB, unknownIdMix } from "./support/pouch.js";

const couch = await couchForTests("two-processes");
afterAll(() => couch.cleanup());
// The peer runs the compiled package (dist/), so build it once for this file.
beforeAll(() => buildPackages(), 120_000);

function session(expiresAt: number, data: object) {
  return { cookie: { originalMaxAge: 3_600_000, expires: new Date(expiresAt).toISOString(), path: "/" }, ...data };
}

describe.skipIf(Boolean(couch.skip))("two processes sharing one CouchDB database", () => {
  const url = couch.database("shared");
  let store: SessionkitStore;
  let peer: Peer;

  beforeAll(async () => {
    store = createStore(pouchdbAdapter(url), { gcInterval: 0 });
    peer = startPeer(url);
  });
  afterAll(async () => {
    await peer?.stop();
    await store?.close();
  });

  it("over HTTP unknown ids are put first when one in three exists (a conflict costs a round trip, like a read)", async () => {
    const db = new PouchDB(url);
    const { db: counted, calls } = countingPouch(db);
    const backend = pouchdbAdapter(counted, { revisionCacheSize: 0 });
    const other = pouchdbAdapter(url);
    try {
      await other.init(); // creates the database
      await backend.init();
      // A put for a new id; for an existing one a put that conflicts, a read and a put.
      expect((await unknownIdMix(backend, other, calls)).slice(-15)).toEqual(Array(15).fill([3, 1, 1]));
    } finally {
      await Promise.all([backend.close(), other.close(), db.close()]);
    }
  });

  it("a session the other process writes is read, touched and destroyed here", async () => {
    const first = Date.now() + 3_600_000;
    await peer.call("set", { sid: "from-peer", session: session(first, { user: "ann" }) });
    expect(await store.get("from-peer")).toMatchObject({ user: "ann" });

    const later = first + 60_000;
    await store.touch("from-peer", session(later, { user: "ann" }) as never);
    expect(await peer.call("expiresAt", { sid: "from-peer" })).toBe(later);

    await store.destroy("from-peer");
    expect(await peer.call("get", { sid: "from-peer" })).toBeNull();
  });

  it("a session written here is read, touched and destroyed by the other process", async () => {
    const first = Date.now() + 3_600_000;
    await store.set("from-here", session(first, { user: "bob" }) as never);
    expect(await peer.call("get", { sid: "from-here" })).toMatchObject({ user: "bob" });

    const later = first + 60_000;
    await peer.call("touch", { sid: "from-here", session: session(later, { user: "bob" }) });
    const backend = store.backend;
    expect((await backend.get("from-here", Date.now()))?.expiresAt).toBe(later);

    await peer.call("destroy", { sid: "from-here" });
    expect(await store.get("from-here")).toBeNull();
  });

  it("both processes writing one session at once never fail, and one whole write wins", async () => {
    const expiresAt = Date.now() + 3_600_000;
    await store.get("contended"); // primes this side's revision cache, to be made stale by the peer
    const writes = Array.from({ length: 30 }, (_, i) => {
      const data = session(expiresAt + i, { writer: i });
      return i % 2 ? peer.call("set", { sid: "contended", session: data }) : store.set("contended", data as never);
    });
    await Promise.all(writes);
    const record = await store.backend.get("contended", Date.now());
    const winner = JSON.parse(record?.payload ?? "{}") as { writer: number };
    expect(record?.expiresAt).toBe(expiresAt + winner.writer);
  });
});

describe("the compiled package", () => {
  it("loads from a CommonJS app through require()", async () => {
    const exported = await requireFromCommonJs(
      "const { pouchdbAdapter } = require(process.argv[1]); const b = pouchdbAdapter(); b.init().then(() => b.close()).then(() => console.log(typeof pouchdbAdapter + ' ' + b.name));",
    );
    expect(exported).toBe("function pouchdb:memory");
  });
});
