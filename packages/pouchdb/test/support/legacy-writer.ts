import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const packageDir = fileURLToPath(new URL("../..", import.meta.url));

// Runs in a child process so session-pouchdb-store's timers and live changes feed (it has no
// way to stop them) die with it. Its `set` is write-behind, so wait until the documents exist.
const script = `
const Store = require("session-pouchdb-store");
const sessions = JSON.parse(process.env.LEGACY_SESSIONS);
const store = new Store(process.env.LEGACY_DB_URL);
const set = (sid, session) => new Promise((resolve, reject) => store.set(sid, session, (e) => (e ? reject(e) : resolve())));
(async () => {
  for (const [sid, session] of Object.entries(sessions)) await set(sid, session);
  for (;;) {
    try {
      await Promise.all(Object.keys(sessions).map((sid) => store.pouch.get(sid)));
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  process.exit(0);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

/** Writes sessions with session-pouchdb-store 0.4.1 (in a child process) and waits until they are stored. */
export function writeWithSessionPouchdbStore(dbUrl: string, sessions: Record<string, object>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", script], {
      cwd: packageDir,
      env: { ...process.env, LEGACY_DB_URL: dbUrl, LEGACY_SESSIONS: JSON.stringify(sessions) },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`session-pouchdb-store writer failed (${code ?? signal}): ${stderr}`));
    });
  });
}
