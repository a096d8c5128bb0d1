import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

const repoRoot = fileURLToPath(new URL("../../../..", import.meta.url));

/** Compiles core and this package to dist/, which the peer process imports (it cannot run TypeScript). */
export async function buildPackages(): Promise<void> {
  const tsc = createRequire(join(repoRoot, "package.json")).resolve("typescript/bin/tsc");
  await promisify(execFile)(process.execPath, [tsc, "-b", "packages/pouchdb"], { cwd: repoRoot });
}

/** Runs `source` as a CommonJS script with the compiled package's entry as argv[1]; resolves with its stdout. */
export async function requireFromCommonJs(source: string): Promise<string> {
  const entry = join(repoRoot, "packages/pouchdb/dist/index.js");
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=commonjs", "-e", source, entry]);
  return stdout.trim();
}

// The peer: a store over the compiled adapter, driven by one JSON command per stdin line.
const peerSource = (coreUrl: string, pouchdbUrl: string) => `
import { createInterface } from "node:readline";
import { createStore } from ${JSON.stringify(coreUrl)};
import { pouchdbAdapter } from ${JSON.stringify(pouchdbUrl)};

const backend = pouchdbAdapter(process.env.PEER_DB_URL);
const store = createStore(backend, { gcInterval: 0 });
const ops = {
  set: (c) => store.set(c.sid, c.session),
  get: (c) => store.get(c.sid),
  touch: (c) => store.touch(c.sid, c.session),
  destroy: (c) => store.destroy(c.sid),
  expiresAt: async (c) => (await backend.get(c.sid, Date.now()))?.expiresAt ?? null,
  close: () => store.close(),
};
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line);
  ops[command.op](command).then(
    (value) => process.stdout.write(JSON.stringify({ seq: command.seq, value: value ?? null }) + "\\n"),
    (error) => process.stdout.write(JSON.stringify({ seq: command.seq, error: String(error?.message ?? error) }) + "\\n"),
  );
}
`;

/** A second process with its own store over the same database. */
export interface Peer {
  call(op: string, args?: Record<string, unknown>): Promise<unknown>;
  /** Closes the peer's store and waits for the process to exit. */
  stop(): Promise<void>;
}

export function startPeer(dbUrl: string): Peer {
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-pouchdb-peer-"));
  const file = join(dir, "peer.mjs");
  const coreUrl = pathToFileURL(join(repoRoot, "packages/core/dist/index.js")).href;
  const pouchdbUrl = pathToFileURL(join(repoRoot, "packages/pouchdb/dist/index.js")).href;
  writeFileSync(file, peerSource(coreUrl, pouchdbUrl));
  const child = spawn(process.execPath, [file], {
    env: { ...process.env, PEER_DB_URL: dbUrl },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let seq = 0;
  createInterface({ input: child.stdout }).on("line", (line) => {
    const answer = JSON.parse(line) as { seq: number; value?: unknown; error?: string };
    const waiter = pending.get(answer.seq);
    pending.delete(answer.seq);
    if (answer.error !== undefined) waiter?.reject(new Error(`peer: ${answer.error}`));
    else waiter?.resolve(answer.value);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  void exited.then(() => {
    for (const waiter of pending.values()) waiter.reject(new Error("peer process exited"));
    pending.clear();
  });
  return {
    call(op, args = {}) {
      const command = { ...args, op, seq: ++seq };
      return new Promise((resolve, reject) => {
        pending.set(command.seq, { resolve, reject });
        child.stdin.write(`${JSON.stringify(command)}\n`);
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        await this.call("close").catch(() => undefined);
        child.stdin.end(); // ends the command loop; the process exits when nothing is left
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
