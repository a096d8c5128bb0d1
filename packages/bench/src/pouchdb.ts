import { fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createStore } from "@sessionkit/core";
import { type PouchDatabase, pouchdbAdapter } from "@sessionkit/pouchdb";
import type { BenchContext, Benchmark, BenchSection, Measurement } from "./harness.js";
import { collectGarbage, measure, timeJob } from "./harness.js";
import { balancedOrder, medianRun, middleHalf, pairedRatios, type Run } from "./paired-runs.js";
import type { PeerInput } from "./pouchdb-peer-process.js";
import { startPouchdbServer } from "./processes.js";

const require = createRequire(import.meta.url);
// pouchdb ships no types (and @types/pouchdb is old): typed by the shape used here.
const PouchDB = require("pouchdb") as new (
  name: string,
  options?: object,
) => PouchDatabase & { close(): Promise<unknown> };
/** pouchdb-core with the memory adapter and map/reduce, resolved from @sessionkit/pouchdb (the bench does not depend on them). */
function memoryPouch() {
  const fromAdapter = createRequire(import.meta.resolve("@sessionkit/pouchdb"));
  const core = fromAdapter("pouchdb-core") as {
    plugin(plugin: unknown): typeof core;
    new (name: string, options?: object): PouchDatabase & { destroy(): Promise<unknown> };
  };
  return core.plugin(fromAdapter("pouchdb-adapter-memory")).plugin(fromAdapter("pouchdb-mapreduce"));
}
const HOUR = 3_600_000;
const CONCURRENCY = 8;
/**
 * Timed runs of each operation per contender, one per block of every contender's turn: a
 * multiple of 6, so blocks go through all orders of three contenders evenly. A single run of
 * PouchDB swings by 10-30% (raw against raw too), so a row needs many runs.
 */
const RUNS = 12;
/** Prune jobs per contender (a multiple of 6 too): each needs its expired sessions seeded first, and lasts a second or more. */
const PRUNE_JOBS = 6;
/** get is the cheapest operation: at the other rows' count a run lasted ~50 ms in memory, so one GC pause decided it. */
const GET_OPS_FACTOR = 5;
/** The baseline, and a second copy of it whose ratio to the first shows what noise alone gives. */
const RAW = "raw PouchDB";
const CONTROL = "raw PouchDB (control)";
/** sessionkit's default revision cache size: a run's destroys target sessions it still knows. */
const REVISION_CACHE = 1000;

type Session = ReturnType<typeof sessionAt>;

/** A session as express-session hands it to a store. */
function sessionAt(expiresAt: number) {
  return {
    cookie: { originalMaxAge: HOUR, expires: new Date(expiresAt).toISOString(), httpOnly: true, path: "/" },
    user: { id: "u-1234", name: "Ann Example", roles: ["reader", "writer"] },
    views: 7,
    flash: [],
  };
}

interface Target {
  label: string;
  title: string;
  /** For our adapter: undefined (memory), a PouchDB instance (LevelDB) or a URL. */
  ours(): PouchDatabase | string | undefined;
  /** A database named `name` for a raw contender, with the same PouchDB version. */
  raw(name: string): PouchDatabase;
  /** What session-pouchdb-store takes. */
  peer: string | undefined;
  sessions: number;
  ops: number;
}

type MeasureOptions = { ops: number; concurrency: number };

/** The operations every contender runs, in this order (as in a request, a get precedes an update or touch). */
interface Contender {
  name: string;
  seed(id: string): Promise<unknown>;
  set(id: string): Promise<unknown>;
  get(id: string): Promise<unknown>;
  update(id: string, i: number): Promise<unknown>;
  touch(id: string, i: number): Promise<unknown>;
  destroy(id: string): Promise<unknown>;
  seedExpired(id: string): Promise<unknown>;
  /** Brings the expiry index up to date, as the periodic GC keeps it in a running app. */
  warmIndex(): Promise<unknown>;
  prune(): Promise<number>;
  close(): Promise<void>;
}

/** Runs `op` over `count` items with CONCURRENCY in flight, untimed (seeding). */
async function fill(count: number, op: (i: number) => Promise<unknown>): Promise<void> {
  await measure(op, { ops: count, concurrency: CONCURRENCY, warmup: 0 });
}

/**
 * Runs every operation on every contender RUNS times in balanced blocks and reports each one's
 * median run. Throughput drifts down as a run goes on (PouchDB keeps every old revision until
 * compaction, so the heap grows), so whoever runs first is favoured; in balanced blocks every
 * contender sits at the same mean position. Each run starts on a collected heap (see
 * `measure`). The notes give the middle half of each contender's ratios to the baseline's run
 * in the same block, which shows how far one row can be trusted.
 */
async function runSideBySide(
  contenders: Contender[],
  target: Target,
  log: (message: string) => void,
): Promise<Measurement[]> {
  const n = target.sessions;
  const options: MeasureOptions = { ops: target.ops, concurrency: CONCURRENCY };
  const getOptions: MeasureOptions = { ops: target.ops * GET_OPS_FACTOR, concurrency: CONCURRENCY };
  // Each destroy deletes a session seeded just before the run, as many as the revision cache
  // holds with the warmup's tenth: in a request, the get before a destroy has read the session.
  const destroyOptions: MeasureOptions = { ops: destroyOpsOf(target), concurrency: CONCURRENCY };
  const seeded = (c: Contender) => `${c.name.replace(/\W+/g, "-")}-`;
  const fresh = new Map<Contender, number>(contenders.map((c) => [c, 0]));
  const doomed = new Map<Contender, number>(contenders.map((c) => [c, 0]));
  const seedDoomed = async (c: Contender) => {
    const first = doomed.get(c) ?? 0;
    await fill(destroyOptions.ops + Math.ceil(destroyOptions.ops / 10), (i) =>
      c.seed(`${seeded(c)}doomed-${first + i}`),
    );
  };
  const operations: Operation[] = [
    { op: "set", make: (c) => () => c.set(`${seeded(c)}new-${next(fresh, c)}`), options },
    { op: "get", make: (c) => (i) => c.get(`${seeded(c)}${i % n}`), options: getOptions },
    { op: "update", make: (c) => (i) => c.update(`${seeded(c)}${i % n}`, i), options },
    { op: "touch", make: (c) => (i) => c.touch(`${seeded(c)}${i % n}`, i), options },
    {
      op: "destroy",
      make: (c) => () => c.destroy(`${seeded(c)}doomed-${next(doomed, c)}`),
      options: destroyOptions,
      before: seedDoomed,
    },
  ];
  const out: Measurement[] = [];
  try {
    for (const c of contenders) await fill(n, (i) => c.seed(`${seeded(c)}${i}`));
    for (const [index, { op, make, options: opts, before }] of operations.entries()) {
      log(`pouchdb ${target.label}: ${op}`);
      const runs = new Map<Contender, Run[]>(contenders.map((c) => [c, []]));
      for (const c of balancedOrder(contenders, RUNS, index)) {
        await before?.(c);
        runs.get(c)?.push(await measure(make(c), opts));
      }
      out.push(...summarize(op, contenders, runs));
      logPairedRatios(`pouchdb ${target.label}: ${op}`, contenders, runs, log);
    }
    log(`pouchdb ${target.label}: prune`);
    const pruned = new Map<Contender, Run[]>(contenders.map((c) => [c, []]));
    for (const [round, c] of balancedOrder(contenders, PRUNE_JOBS).entries()) {
      await c.warmIndex();
      await fill(n, (i) => c.seedExpired(`${seeded(c)}old-${round}-${i}`));
      collectGarbage();
      const job = await timeJob(() => c.prune());
      pruned.get(c)?.push({ opsPerSec: job.perSec });
    }
    const note = `${n} expired sessions per job`;
    logPairedRatios(`pouchdb ${target.label}: prune`, contenders, pruned, log);
    out.push(...summarize("prune", contenders, pruned).map((m) => ({ ...m, note: joinNotes(note, m.note) })));
  } finally {
    for (const c of contenders) await c.close();
  }
  return out;
}

function destroyOpsOf(target: Target): number {
  return Math.floor(Math.min(target.sessions, REVISION_CACHE) * 0.9);
}

interface Operation {
  op: string;
  make: (c: Contender) => (i: number) => Promise<unknown>;
  options: MeasureOptions;
  /** Untimed work before each of a contender's runs. */
  before?: (c: Contender) => Promise<void>;
}

/**
 * Each contender's median run. Every contender but the baseline (the second) also gets the
 * middle half of its ratios to the baseline's runs of the same blocks: how far apart one pair
 * of runs can land.
 */
function summarize(op: string, contenders: Contender[], runs: Map<Contender, Run[]>): Measurement[] {
  const baseline = contenders[1] as Contender;
  const baselineRuns = runs.get(baseline) ?? [];
  return contenders.map((c) => {
    const own = runs.get(c) ?? [];
    if (c === baseline) return { contender: c.name, op, ...medianRun(own) };
    const note = `paired runs ÷ ${baseline.name}: middle half ${middleHalf(pairedRatios(own, baselineRuns))}`;
    return { contender: c.name, op, ...medianRun(own), note };
  });
}

/** One log line per contender with its ratios to the baseline's runs, block by block. */
function logPairedRatios(
  label: string,
  contenders: Contender[],
  runs: Map<Contender, Run[]>,
  log: (m: string) => void,
) {
  const baselineRuns = runs.get(contenders[1] as Contender) ?? [];
  for (const c of contenders) {
    if (c === contenders[1]) continue;
    const ratios = pairedRatios(runs.get(c) ?? [], baselineRuns);
    log(`${label}, ${c.name} paired ratios ${ratios.map((r) => r.toFixed(2)).join(" ")}`);
  }
}

function joinNotes(...notes: Array<string | undefined>): string {
  return notes.filter(Boolean).join("; ");
}

function next(counters: Map<Contender, number>, c: Contender): number {
  const value = counters.get(c) ?? 0;
  counters.set(c, value + 1);
  return value;
}

/** sessionkit: the store over pouchdbAdapter. */
function ours(target: Target, now: number): Contender {
  const backend = pouchdbAdapter(target.ours());
  const store = createStore(backend, { gcInterval: 0 });
  const live = sessionAt(now + HOUR);
  return {
    name: "sessionkit",
    seed: (id) => store.set(id, live as never),
    set: (id) => store.set(id, live as never),
    get: (id) => store.get(id),
    update: (id, i) => store.set(id, sessionAt(now + HOUR + i) as never),
    touch: (id, i) => store.touch(id, sessionAt(now + 2 * HOUR + i) as never),
    destroy: (id) => store.destroy(id),
    seedExpired: (id) =>
      backend.upsert({ id, payload: JSON.stringify(live), expiresAt: now - HOUR, owner: null, now: now - 2 * HOUR }),
    warmIndex: () => store.length(),
    prune: () => store.prune(),
    close: () => store.close(),
  };
}

/**
 * The same documents and calls, by hand: revisions kept in an unbounded Map, no read before a
 * write. It does the work any session store must: serialize the session it is given to JSON,
 * take the expiry from its cookie, and store sessionkit's exact document (with the ISO `expires`).
 */
function raw(db: PouchDatabase, now: number, name = RAW): Contender {
  const known = new Map<string, { rev: string; doc: Record<string, unknown> }>();
  const write = async (id: string, doc: Record<string, unknown>) => {
    const rev = known.get(id)?.rev;
    const result = await db.put({ ...doc, _id: id, ...(rev ? { _rev: rev } : {}) });
    known.set(id, { rev: result.rev as string, doc });
  };
  const expiryOf = (session: Session) => Date.parse(session.cookie.expires);
  const docOf = (session: Session, expiresAt = expiryOf(session)) => ({
    type: "sessionkit-session",
    payload: JSON.stringify(session),
    expiresAt,
    expires: new Date(expiresAt).toISOString(),
    owner: null,
  });
  const live = sessionAt(now + HOUR);
  const view = { map: "function (doc) { if (typeof doc.expiresAt === 'number') emit(doc.expiresAt, doc._rev); }" };
  // Made by the first seed, so a failure reaches the caller instead of rejecting unheard meanwhile.
  let ready: Promise<unknown> | undefined;
  return {
    name,
    seed: async (id) => {
      ready ??= db.put({ _id: "_design/raw", views: { expires: view } });
      await ready;
      await write(id, docOf(live));
    },
    set: (id) => write(id, docOf(live)),
    get: async (id) => JSON.parse((await db.get(id)).payload as string),
    update: (id, i) => write(id, docOf(sessionAt(now + HOUR + i))),
    touch: (id, i) => {
      const expiresAt = expiryOf(sessionAt(now + 2 * HOUR + i));
      return write(id, { ...known.get(id)?.doc, expiresAt, expires: new Date(expiresAt).toISOString() });
    },
    destroy: async (id) => {
      await db.put({ _id: id, _rev: known.get(id)?.rev as string, _deleted: true });
      known.delete(id);
    },
    seedExpired: (id) => write(id, docOf(live, now - HOUR)),
    warmIndex: () => db.query("raw/expires", { limit: 0 }),
    prune: async () => {
      let deleted = 0;
      for (;;) {
        const { rows } = await db.query("raw/expires", { endkey: Date.now(), limit: 1000 });
        if (rows.length === 0) return deleted;
        const deletes = rows.map((row) => ({ _id: row.id as string, _rev: row.value as string, _deleted: true }));
        deleted += (await db.bulkDocs(deletes)).filter((result) => result.ok).length;
      }
    },
    close: async () => {},
  };
}

/** Runs the same operations on sessionkit's store, raw PouchDB calls, and session-pouchdb-store. */
async function benchTarget(target: Target, ctx: BenchContext): Promise<BenchSection> {
  const now = Date.now();
  const measurements: Measurement[] = [];
  ctx.log(`pouchdb ${target.label}: sessionkit, raw PouchDB and its control copy`);
  // The control is raw PouchDB again, on its own database: its ratio is what noise alone gives.
  const contenders = [ours(target, now), raw(target.raw("raw"), now), raw(target.raw("control"), now, CONTROL)];
  measurements.push(...(await runSideBySide(contenders, target, ctx.log)));
  ctx.log(`pouchdb ${target.label}: session-pouchdb-store`);
  measurements.push(
    ...(await benchPeer({
      location: target.peer,
      sessions: target.sessions,
      ops: target.ops,
      concurrency: CONCURRENCY,
      session: sessionAt(now + HOUR),
    })),
  );
  return {
    title: target.title,
    baseline: "raw PouchDB",
    measurements,
    notes: [
      `${target.sessions} sessions; ${target.ops} timed operations per run (${target.ops * GET_OPS_FACTOR} for get, ${destroyOpsOf(target)} for destroy) after a tenth as many untimed; ${CONCURRENCY} in flight. sessionkit, raw PouchDB and a control copy of raw PouchDB (the same code on its own database) run each operation ${RUNS} times, in blocks that go through every order of the three, each run on a freshly collected heap; the figure is each one's median run. The control's ratio is what noise alone gives: a single run swings by 10-30%, and the notes give the middle half of each one's ${RUNS} ratios to the raw run of the same block. prune: ${target.sessions} sessions that expired since the expiry index was last brought up to date, deleted in one job; ${PRUNE_JOBS} jobs each, in the same blocks.`,
      `destroy deletes sessions seeded just before its run (no more than sessionkit's revision cache holds, so it knows their revisions as it does after the get that precedes a destroy in a request).`,
      "set saves a new session; update rewrites a seeded session and touch moves its expiry, both after the get phase has read every seeded session (so sessionkit's revision cache knows them, as it does after the get that precedes them in a request). sessionkit and raw PouchDB acknowledge every write after the database has it. raw PouchDB makes the fewest calls that store the same documents (sessionkit's, with the ISO `expires`), serializing the same session to JSON and taking its expiry from the cookie, as any store must; it keeps every revision in an unbounded Map (sessionkit's revision cache holds 1000 by default), so it never reads before writing.",
      "session-pouchdb-store's own set and touch are write-behind: acknowledged before anything is written (it writes a second later), so its `set (write-behind)` and `touch` figures are not comparable to durable writes. Its durable figure is `set` with `$commit: true`. Its get answers from an in-process cache (the database is not read); it never purges expired sessions (no prune row); its destroy fails on every call.",
      "session-pouchdb-store runs in a child process (its timers can only be stopped by ending the process) on PouchDB 7.3, its own dependency; sessionkit and raw PouchDB use PouchDB 9.",
    ],
  };
}

/** session-pouchdb-store in a child process, killed afterwards (it cannot be stopped otherwise). */
async function benchPeer(input: PeerInput): Promise<Measurement[]> {
  const file = fileURLToPath(new URL("./pouchdb-peer-process.js", import.meta.url));
  const child = fork(file, [], {
    env: { ...process.env, SESSIONKIT_PEER_INPUT: JSON.stringify(input) },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  try {
    const answer = await new Promise<{ measurements?: Measurement[]; error?: string }>((resolve, reject) => {
      child.once("message", (message) => resolve(message as { measurements?: Measurement[]; error?: string }));
      child.once("error", reject);
      child.once("exit", (code, signal) => reject(new Error(`session-pouchdb-store bench exited (${code ?? signal})`)));
    });
    if (answer.error || !answer.measurements) throw new Error(`session-pouchdb-store bench failed: ${answer.error}`);
    return answer.measurements;
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
  }
}

export const bench: Benchmark = async (ctx) => {
  const scale = ctx.size === "large" ? 10 : 1;
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-bench-pouchdb-"));
  const opened: Array<{ close(): Promise<unknown> }> = [];
  const leveldb = (name: string) => {
    const db = new PouchDB(join(dir, name), { adapter: "leveldb" });
    opened.push(db);
    return db;
  };
  let server: Awaited<ReturnType<typeof startPouchdbServer>> | undefined;
  try {
    // Inside the try: a server that fails to start must not leave its temporary directory behind.
    const running = await startPouchdbServer(dir);
    server = running;
    const targets: Target[] = [
      {
        label: "memory",
        title: "PouchDB in memory (pouchdb-adapter-memory)",
        ours: () => undefined,
        raw: (name) => {
          // The same pouchdb-core + memory adapter build sessionkit uses, called directly as our hot
          // paths call it (a second adapter's `db` would add a rejection wrapper to every call).
          const db = new (memoryPouch())(`${name}-${randomUUID()}`, { adapter: "memory" });
          opened.push({ close: () => db.destroy() });
          return db;
        },
        peer: undefined,
        sessions: 1000 * scale,
        ops: 2000 * scale,
      },
      {
        label: "LevelDB",
        title: "PouchDB on LevelDB (disk)",
        ours: () => leveldb("ours"),
        raw: (name) => leveldb(name),
        peer: join(dir, "peer"),
        sessions: 1000 * scale,
        ops: 1000 * scale,
      },
      {
        label: "HTTP",
        title: "CouchDB API over HTTP (pouchdb-server 4.2, in memory, loopback)",
        ours: () => `${running.url}/ours`,
        raw: (name) => {
          const db = new PouchDB(`${running.url}/${name}`);
          opened.push(db);
          return db;
        },
        peer: `${running.url}/peer`,
        sessions: 200 * scale,
        ops: 200 * scale,
      },
    ];
    const sections: BenchSection[] = [];
    for (const target of targets) sections.push(await benchTarget(target, ctx));
    return sections;
  } finally {
    await Promise.all(opened.map((db) => db.close()));
    server?.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
};
