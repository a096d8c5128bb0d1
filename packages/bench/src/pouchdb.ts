// PouchDB in memory and on LevelDB: sessionkit's pouchdbAdapter against raw PouchDB calls doing
// the minimal work of a store (the baseline) and a control copy of them, each on its own database.
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStore } from "@sessionkit/core";
import { type PouchDatabase, pouchdbAdapter } from "@sessionkit/pouchdb";
import {
  type Benchmark,
  type BenchSection,
  type Contender,
  compareSection,
  OPS,
  type Op,
  type Session,
  storeContender,
} from "./harness.js";

type Db = PouchDatabase & { close(): Promise<unknown> };
const require = createRequire(import.meta.url);
const PouchDB = require("pouchdb") as new (name: string) => Db;
/** pouchdb-core with the memory adapter and map/reduce, resolved from @sessionkit/pouchdb (the bench does not depend on it). */
function memoryPouch() {
  const from = createRequire(import.meta.resolve("@sessionkit/pouchdb"));
  const core = from("pouchdb-core") as { plugin(p: unknown): typeof core; new (name: string, o?: object): Db };
  return core.plugin(from("pouchdb-adapter-memory")).plugin(from("pouchdb-mapreduce"));
}

const SIZES = { small: { ops: 4000, rounds: 3 }, large: { ops: 10_000, rounds: 7 } } as const;
/** An update of a session written by another process (or evicted from the revision cache). */
const UNCACHED = "set, revision not cached";
/** After the new sessions' set: another writer updates them; the get that follows reads its revision. */
const SEQUENCE = [OPS[0], UNCACHED, ...OPS.slice(1)];

/**
 * put with the revision it last wrote (no read first), or with the one a get just read (the uncached
 * update), get + JSON.parse + expiry check, delete by revision.
 */
function raw(name: string, db: Db): Contender {
  const revs = new Map<string, { rev: string; doc: Record<string, unknown> }>();
  const write = async (id: string, doc: Record<string, unknown>, rev = revs.get(id)?.rev) => {
    const result = await db.put({ ...doc, _id: id, ...(rev ? { _rev: rev } : {}) });
    revs.set(id, { rev: result.rev as string, doc });
  };
  const session = (s: Session) => ({ payload: JSON.stringify(s), expiresAt: s.cookie.expires.getTime(), owner: null });
  return {
    name,
    ops: {
      set: (id, s) => write(id, session(s)),
      [UNCACHED]: async (id, s) => write(id, session(s), (await db.get(id))._rev),
      get: async (id) => {
        const doc = await db.get(id);
        return (doc.expiresAt as number) > Date.now() ? JSON.parse(doc.payload as string) : null;
      },
      touch: (id, s) => write(id, { ...revs.get(id)?.doc, expiresAt: s.cookie.expires.getTime() }),
      destroy: async (id) => {
        await db.put({ _id: id, _rev: revs.get(id)?.rev as string, _deleted: true });
        revs.delete(id);
      },
    },
  };
}

/** `c` on ids of its own (`<prefix><id>`), so that contenders can share one database. */
function prefixed(prefix: string, c: Contender): Contender {
  const ops = Object.entries(c.ops).map(([k, op]) => [k, (id: string, s: Session) => (op as Op)(prefix + id, s)]);
  return { ...c, ops: Object.fromEntries(ops) };
}

export const bench: Benchmark = async (ctx) => {
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-bench-pouch-"));
  const Memory = memoryPouch();
  const sections: BenchSection[] = [];
  try {
    for (const [label, open] of [
      ["in memory (pouchdb-adapter-memory)", () => new Memory("bench")],
      ["on LevelDB (pouchdb 9)", () => new PouchDB(join(dir, "bench"))],
    ] as const) {
      ctx.log(`PouchDB ${label}`);
      const options = { ...SIZES[ctx.size], concurrency: 8, sequence: SEQUENCE };
      // One database for all: databases of their own would each flush and compact at their own
      // moments, and identical contenders' LevelDB reads then differed twofold within a round.
      const db = open();
      // The uncached update goes through a second store on the same database: another process's.
      const other = createStore(pouchdbAdapter(db), { gcInterval: 0 });
      // A run reads all its sessions before it touches any: a revision cache that holds them all,
      // as raw remembers every revision (a request reads and then writes its own session).
      const adapter = pouchdbAdapter(db, { revisionCacheSize: options.ops });
      const sessionkit = storeContender("sessionkit", createStore(adapter, { gcInterval: 0 }), async () => {
        await other.close();
        await db.close();
      });
      sessionkit.ops[UNCACHED] = storeContender("other", other).ops.set;
      const contenders = [
        prefixed("raw-", raw("raw PouchDB", db)),
        prefixed("ctl-", raw("control: raw PouchDB", db)),
        prefixed("sk-", sessionkit),
      ];
      const section = await compareSection(`PouchDB ${label}`, contenders, options, ctx.log, {
        setup: "one database, each contender on ids of its own prefix",
        more: [
          "raw: one put per write with the revision it remembers (no read first), get + JSON.parse + expiry check, delete by revision; no expiry index, no conflict handling. control: the same code on ids of its own.",
          `sessionkit: createStore(pouchdbAdapter(db, { revisionCacheSize: ${options.ops} })), otherwise its defaults (conflict retries, tombstones). A run reads its ${options.ops.toLocaleString("en")} sessions before it touches any; with the default cache (1,000 entries, least recently used out) every touch and destroy would read first, which a request (a read, then a write of the same session) does not.`,
          `${UNCACHED}: the sessions just set, updated by a second store on the same database (another process, whose revision cache does not know them); raw: a get, then a put with its revision.`,
        ],
      });
      sections.push(section);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return sections;
};
