import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const packageDir = fileURLToPath(new URL("../..", import.meta.url));
const idModule = fileURLToPath(new URL("./couch-safe-id.cjs", import.meta.url));
/** A session id session-pouchdb-store can store and find (see couch-safe-id.cjs); both apps use it. */
export const couchSafeId = createRequire(import.meta.url)(idModule) as () => string;

// An express app over session-pouchdb-store 0.4.1, as a user runs it before switching to
// sessionkit (or after rolling back). In a child process: the old store's timers and changes feed
// can only be stopped by ending the process. Same secret and routes as the conformance test app,
// except /login, which sets the user in place: the old store's destroy (which regenerate calls)
// fails on every call. Its ids never start with `_` (couch-safe-id.cjs).
const script = `
const express = require("express");
const session = require("express-session");
const PouchSession = require("session-pouchdb-store");
const app = express();
app.use(session({
  store: new PouchSession(process.env.OLD_STORE_DB_URL),
  genid: require(process.env.OLD_STORE_ID_MODULE),
  secret: "conformance-secret",
  resave: false,
  saveUninitialized: false,
  cookie: { maxAge: 3600000 },
}));
const answer = (req, res) => res.json({ views: req.session.views ?? 0, user: req.session.user ?? null, id: req.sessionID });
app.get("/count", (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  answer(req, res);
});
app.get("/peek", answer);
app.post("/login/:user", (req, res) => {
  req.session.user = req.params.user;
  answer(req, res);
});
app.use((err, req, res, next) => res.status(500).json({ error: String(err && err.message) }));
const server = app.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

export interface OldStoreApp {
  url: string;
  /** Whatever the app printed on stderr (an unhandled rejection of the old store ends up there). */
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts the app on a free loopback port over the database at `dbUrl`. */
export async function startOldStoreApp(dbUrl: string): Promise<OldStoreApp> {
  const child = spawn(process.execPath, ["-e", script], {
    cwd: packageDir,
    env: { ...process.env, OLD_STORE_DB_URL: dbUrl, OLD_STORE_ID_MODULE: idModule },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`the old store's app exited (${code}): ${stderr}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stderr: () => stderr,
    async stop() {
      child.kill("SIGKILL");
      await exited;
    },
  };
}
