// Runs session-pouchdb-store 0.4.1 in a child process: it starts timers and a live changes feed
// it has no way to stop, so the bench ends them by killing the process. (Not a worker thread:
// terminating one with its LevelDB iterator open aborts the whole process in leveldown.)
import { createRequire } from "node:module";
import { promisifyCallback as call, type Measurement, measure } from "./harness.js";

export interface PeerInput {
  /** What session-pouchdb-store takes: undefined (memory), a LevelDB path, or a URL. */
  location: string | undefined;
  sessions: number;
  ops: number;
  concurrency: number;
  session: Record<string, unknown>;
}

type Callback = (error?: unknown, value?: unknown) => void;
interface PeerStore {
  get(sid: string, cb: Callback): void;
  set(sid: string, session: object, cb: Callback): void;
  touch(sid: string, session: object, cb: Callback): void;
  destroy(sid: string, cb: Callback): void;
  pouch: { allDocs(): Promise<{ rows: Array<{ id: string }> }> };
}

const require = createRequire(import.meta.url);
const PouchSessionStore = require("session-pouchdb-store") as new (location?: string) => PeerStore;
const input = JSON.parse(process.env.SESSIONKIT_PEER_INPUT ?? "{}") as PeerInput;

// Its write-behind commit timer rejects unhandled when a write conflicts; count those instead of dying.
let backgroundFailures = 0;
let firstBackgroundFailure = "";
process.on("unhandledRejection", (reason) => {
  backgroundFailures++;
  firstBackgroundFailure ||= describe(reason);
});

/** Runs `op` under `measure`, counting failures instead of stopping at the first. */
async function measureTolerant(
  op: (i: number) => Promise<unknown>,
  options: { ops: number; concurrency: number },
): Promise<{ opsPerSec: number; p99Ms: number; failures: string }> {
  let failed = 0;
  let first = "";
  const result = await measure(
    (i) =>
      op(i).catch((error: unknown) => {
        failed++;
        first ||= describe(error);
      }),
    options,
  );
  const total = options.ops + Math.ceil(options.ops / 10);
  return { ...result, failures: failed ? `; ${failed} of ${total} calls failed (${first})` : "" };
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "object" && error !== null && "message" in error) return String(error.message);
  return String(error);
}

async function run(): Promise<Measurement[]> {
  const store = new PouchSessionStore(input.location);
  const contender = "session-pouchdb-store";
  const ids = Array.from({ length: input.sessions }, (_, i) => `peer-${i}`);
  const copy = () => structuredClone(input.session);
  const options = { ops: input.ops, concurrency: input.concurrency };
  const out: Measurement[] = [];
  const row = (op: string, result: Awaited<ReturnType<typeof measureTolerant>>, note: string) => {
    const { failures, ...figures } = result;
    out.push({ contender, op, ...figures, note: note + failures });
  };

  // The sessions the reads and touches use, saved the way express-session saves them (write-behind),
  // then given time to reach the database.
  for (const sid of ids) await call((cb) => store.set(sid, copy(), cb));
  const stored = new Set<string>();
  for (let waited = 0; stored.size < ids.length && waited < 30_000; waited += 250) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const { rows } = await store.pouch.allDocs();
    for (const row of rows) stored.add(row.id);
  }
  const seedNote =
    stored.size < ids.length ? `; only ${stored.size} of ${ids.length} seeded sessions were written` : "";
  let fresh = 0;
  const durable = await measureTolerant(
    () => call((cb) => store.set(`peer-new-${fresh++}`, { ...copy(), $commit: true }, cb)),
    options,
  );
  row("set", durable, `with $commit: written before acknowledged${seedNote}`);
  const behind = await measureTolerant(() => call((cb) => store.set(`peer-wb-${fresh++}`, copy(), cb)), options);
  row("set (write-behind)", behind, "acknowledged before written (1 s write-behind); not durable");
  const got = await measureTolerant((i) => call((cb) => store.get(ids[i % ids.length] as string, cb)), options);
  row("get", got, "served from its in-process cache, not the database");
  const touched = await measureTolerant(
    (i) => call((cb) => store.touch(ids[i % ids.length] as string, copy(), cb)),
    options,
  );
  row("touch", touched, "write-behind: acknowledged before written");

  const destroyError = await call((cb) => store.destroy(ids[0] as string, cb)).then(
    () => undefined,
    (error: unknown) => describe(error),
  );
  out.push({
    contender,
    op: "destroy",
    opsPerSec: 0,
    note: destroyError ? `broken: every destroy fails (${destroyError})` : "not measured",
  });
  if (backgroundFailures > 0) {
    out.push({
      contender,
      op: "background commits",
      opsPerSec: 0,
      note: `${backgroundFailures} write-behind commits failed as unhandled rejections (${firstBackgroundFailure}); acknowledged sessions were lost`,
    });
  }
  return out;
}

// Only when forked by pouchdb.ts: importing this module by mistake must not start a store.
if (process.send && process.env.SESSIONKIT_PEER_INPUT) {
  run().then(
    (measurements) => process.send?.({ measurements }),
    (error: unknown) => process.send?.({ error: error instanceof Error ? error.stack : JSON.stringify(error) }),
  );
}
