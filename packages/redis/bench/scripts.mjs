// What the server spends on each of the adapter's hot-path commands, against the plain command a
// store without metadata or tombstones would send, on a private redis-server this script starts
// on a free loopback port (and stops). No store, no core: the commands alone, 16 sent at a time.
//
//   npx tsc -b packages/core packages/redis && node packages/redis/bench/scripts.mjs
//   BEFORE=/path/to/another/checkout node packages/redis/bench/scripts.mjs   (adds that build's scripts)
//
// Per command: its time in INFO commandstats (a script's includes the commands it runs) and the
// server process's CPU (INFO cpu, main thread: parsing, replies and the network too), median of
// ROUNDS (default 9) rounds of CALLS (default 5000) calls.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { privateServer } from "./server.mjs";

const here = new URL("..", import.meta.url).pathname;
const CALLS = Number(process.env.CALLS ?? 5000);
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const HOUR = 3_600_000;
const load = async (root) => (await import(pathToFileURL(join(root, "packages/redis/dist/scripts.js")).href)).scripts;
const builds = [["", await load(join(here, "../.."))]];
if (process.env.BEFORE) builds.push([" (before)", await load(process.env.BEFORE)]);

const server = await privateServer("scripts");
const client = await server.connect();
for (const [, scripts] of builds) {
  for (const script of Object.values(scripts)) await client.sendCommand(["SCRIPT", "LOAD", script.source]);
}

const payload = JSON.stringify({
  cookie: { originalMaxAge: HOUR, expires: new Date(Date.now() + HOUR), httpOnly: true, path: "/" },
  user: { id: 12345, name: "Alice Example", email: "alice@example.com", roles: ["admin", "editor"] },
  cart: [1, 2, 3, 4, 5],
  csrf: "a8f7d6e5c4b3a2918f7e6d5c4b3a2910",
  views: 42,
});
const now = Date.now();
const at = String(now + HOUR);
const NOW = String(now);
const keys = (p, i) => [`${p}${i}`, `{${p}${i}}:m`];

async function measure(command) {
  const cpu = async () => {
    const info = await client.sendCommand(["INFO", "cpu"]);
    const read = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1]);
    return read("used_cpu_user_main_thread") + read("used_cpu_sys_main_thread");
  };
  await client.sendCommand(["CONFIG", "RESETSTAT"]);
  const before = await cpu();
  for (let i = 0; i < CALLS; i += 16) {
    const batch = [];
    for (let j = i; j < Math.min(i + 16, CALLS); j++) batch.push(client.sendCommand(command(j)));
    await Promise.all(batch);
  }
  const used = (await cpu()) - before;
  const stats = await client.sendCommand(["INFO", "commandstats"]);
  const name = command(0)[0].toLowerCase();
  const usec = Number(new RegExp(`cmdstat_${name}:calls=\\d+,usec=(\\d+)`).exec(stats)?.[1]);
  return { command: usec / CALLS, server: (used * 1e6) / CALLS };
}

// Each round: new sessions written, then updated, read, touched and destroyed, per build (in
// turns: which goes first alternates); then the plain commands on plain keys.
const results = new Map();
const keep = (name, value) => results.set(name, [...(results.get(name) ?? []), value]);
for (let round = 0; round < ROUNDS; round++) {
  await client.sendCommand(["FLUSHDB"]);
  for (const [suffix, s] of round % 2 ? [...builds].reverse() : builds) {
    const p = `r${round}${suffix.length}:`;
    const upsert = (i) => [
      "EVALSHA",
      s.upsert.sha,
      "2",
      ...keys(p, i),
      payload,
      at,
      NOW,
      "",
      ...(suffix ? [`x${i}`] : []),
    ];
    keep(`upsert, new${suffix}`, await measure(upsert));
    keep(`upsert, update${suffix}`, await measure(upsert));
    if (!suffix) keep("get (MGET)", await measure((i) => ["MGET", ...keys(p, i)]));
    keep(`get script${suffix}`, await measure((i) => ["EVALSHA", s.get.sha, "2", ...keys(p, i)]));
    const touch = (i) => ["EVALSHA", s.touch.sha, "2", ...keys(p, i), at, NOW, "", ...(suffix ? [`x${i}`] : [])];
    keep(`touch${suffix}`, await measure(touch));
    keep(`destroy${suffix}`, await measure((i) => ["EVALSHA", s.destroy.sha, "2", ...keys(p, i), at]));
  }
  const p = `plain${round}:`;
  keep("SET PXAT, new", await measure((i) => ["SET", `${p}${i}`, payload, "PXAT", at]));
  keep("SET PXAT, update", await measure((i) => ["SET", `${p}${i}`, payload, "PXAT", at]));
  keep("GET", await measure((i) => ["GET", `${p}${i}`]));
  keep("PEXPIREAT", await measure((i) => ["PEXPIREAT", `${p}${i}`, at]));
  keep("DEL", await measure((i) => ["DEL", `${p}${i}`]));
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
console.log(`${CALLS} calls x ${ROUNDS} rounds; µs per call: command time (commandstats) | server CPU (INFO cpu)`);
for (const [name, values] of [...results].sort(([a], [b]) => a.localeCompare(b))) {
  const c = median(values.map((v) => v.command)).toFixed(2);
  const s = median(values.map((v) => v.server)).toFixed(2);
  console.log(`${name.padEnd(26)} ${c.padStart(6)} ${s.padStart(7)}`);
}
await client.close();
server.stop();
