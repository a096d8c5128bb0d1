import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import net from "node:net";
import { promisify } from "node:util";
import { serviceGate } from "@sessionkit/conformance";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

// Why databankAdapter refuses databank-redis 0.19 (hardening.test.ts checks the refusal): with a
// bank connected the usual way, a Redis outage and a session key holding a value that is not JSON
// each end the process, from inside the driver, with nothing public to hook. Shown on a Redis
// server of this test's own (a free port), which it kills; never the shared one.
const run = promisify(execFile);
const skip = await serviceGate("redis-server", () => run("redis-server", ["--version"]));
const databankPath = createRequire(import.meta.url).resolve("databank");

/** The app: connects a databank-redis bank, says so, then does what `MODE` says. */
const app = `
const { Databank } = require(${JSON.stringify(databankPath)});
const bank = Databank.get("redis", { port: Number(process.env.PORT), checkIndices: false });
bank.connect({}, (error) => {
  if (error) { console.log("connect failed"); process.exit(3); }
  console.log("connected");
  if (process.env.MODE === "read") bank.read("session", "bad", (e, v) => console.log("called back", e, v));
  setTimeout(() => { console.log("still alive"); process.exit(0); }, 5000);
});
`;

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs the app until it exits; resolves with its exit code and output. */
function startApp(port: number, mode: string) {
  const child = spawn(process.execPath, ["-e", app], { env: { ...process.env, PORT: String(port), MODE: mode } });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const exited = once(child, "exit").then(([code]) => ({ code: code as number | null, output }));
  const connected = new Promise<void>((resolve, reject) => {
    child.stdout.on("data", () => output.includes("connected") && resolve());
    exited.then(() => reject(new Error(`the app exited before connecting: ${output}`)));
  });
  return { child, connected, exited };
}

describe.skipIf(Boolean(skip))("databank-redis ends its process (why the adapter refuses it)", () => {
  let server: ChildProcess;
  let port: number;

  beforeEach(async () => {
    port = await freePort();
    server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
    for (let attempt = 0; ; attempt++) {
      try {
        await run("redis-cli", ["-p", String(port), "ping"]);
        break;
      } catch (error) {
        if (attempt > 50) throw error;
        await new Promise((r) => setTimeout(r, 50)); // waiting for a server to start, not for time to pass
      }
    }
  });
  afterEach(() => {
    server.kill("SIGKILL");
  });

  it("when Redis goes away, the driver's client throws an unhandled 'error' event", async () => {
    const { connected, exited } = startApp(port, "idle");
    await connected;
    server.kill("SIGKILL");
    const { code, output } = await exited;
    expect(code).not.toBe(0);
    expect(output).toMatch(/Unhandled 'error' event/);
    expect(output).not.toMatch(/still alive/);
  });

  it("when a session key holds a value that is not JSON, reading it throws inside the driver", async () => {
    await run("redis-cli", ["-p", String(port), "set", "session:bad", "not json{"]);
    const { connected, exited } = startApp(port, "read");
    await connected;
    const { code, output } = await exited;
    expect(code).not.toBe(0);
    expect(output).toMatch(/SyntaxError/);
    expect(output).not.toMatch(/called back|still alive/);
  });
});
