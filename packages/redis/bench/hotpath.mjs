// The hot path (get / set / touch / destroy) of @sessionkit/redis through the store, against
// connect-redis 9 and against node-redis sending the same minimal commands by hand, on a private
// redis-server this script starts on a free loopback port (and stops).
//
//   npx tsc -b packages/core packages/redis && node packages/redis/bench/hotpath.mjs
//   BEFORE=/path/to/another/checkout node packages/redis/bench/hotpath.mjs   (adds that build as "before")
//
// Environment: OPS per block (default 2000), ROUNDS (default 15), INFLIGHT (default 16), OWNER=1
// (the store's `owner` option set, every session owned), CALLBACKS=1 (express-session's callback
// form instead of promises), ONLY=label,label (run only those contenders, e.g. under --cpu-prof),
// STEPS=get,touch (report only those operations), FLOOR=1 (adds "raw in Lua": raw's writes, each
// sent as a script that runs that one command: what a script costs by itself).
//
// Each round runs every operation once per contender, the contenders in a rotating order, each on
// ids of its own: set (new ids), get, touch, set (the same ids again: an update), destroy. Per
// block: wall time, node CPU (process.cpuUsage), the server's CPU (INFO cpu, main thread) and its
// command time (INFO commandstats after CONFIG RESETSTAT: the scripts' own time, which includes
// the commands they run, plus the commands sent outside scripts). Reported: the medians over rounds, and
// the median of each round's ratio (theirs / ours: above 1 means ours is faster).
//
// "raw" is node-redis's sendCommand with what a minimal store sends: JSON and GET, SET PXAT,
// PEXPIREAT, DEL; no validation, no expiry check, no tombstone, no metadata.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { RedisStore } from "connect-redis";
import { privateServer } from "./server.mjs";

const here = new URL("..", import.meta.url).pathname;

const OPS = Number(process.env.OPS ?? 2000);
const ROUNDS = Number(process.env.ROUNDS ?? 15);
const INFLIGHT = Number(process.env.INFLIGHT ?? 16);
const OWNER = process.env.OWNER === "1";
const CALLBACKS = process.env.CALLBACKS === "1";
const HOUR = 3_600_000;

async function sessionkitFrom(root, label) {
  const { createStore } = await import(pathToFileURL(join(root, "packages/core/dist/index.js")).href);
  const { redisAdapter } = await import(pathToFileURL(join(root, "packages/redis/dist/index.js")).href);
  return { label, createStore, redisAdapter };
}
const builds = [await sessionkitFrom(join(here, "../.."), "sessionkit")];
if (process.env.BEFORE) builds.unshift(await sessionkitFrom(process.env.BEFORE, "before"));

// --- a private server -------------------------------------------------------------------------
const server = await privateServer("bench");
const connect = server.connect;
const admin = await connect();

// --- the contenders -----------------------------------------------------------------------------
const session = (id) => ({
  cookie: { originalMaxAge: HOUR, expires: new Date(Date.now() + HOUR), httpOnly: true, path: "/" },
  user: { id: 12345, name: "Alice Example", email: "alice@example.com", roles: ["admin", "editor"] },
  cart: [1, 2, 3, 4, 5],
  csrf: "a8f7d6e5c4b3a2918f7e6d5c4b3a2910",
  views: 42,
  ...(OWNER ? { owner: `user-${id.length % 7}` } : {}),
});
/** A store method in the promise form, or in express-session's callback form. */
const promised = (store, method) =>
  CALLBACKS
    ? (...args) => new Promise((resolve, reject) => store[method](...args, (e, v) => (e ? reject(e) : resolve(v))))
    : (...args) => store[method](...args);

const contenders = [];
{
  const client = await connect();
  const prefix = "raw:";
  contenders.push({
    label: "raw",
    set: (id, s) =>
      client.sendCommand(["SET", prefix + id, JSON.stringify(s), "PXAT", String(s.cookie.expires.getTime())]),
    get: (id) => client.sendCommand(["GET", prefix + id]).then((v) => v && JSON.parse(v)),
    touch: (id, s) => client.sendCommand(["PEXPIREAT", prefix + id, String(s.cookie.expires.getTime())]),
    destroy: (id) => client.sendCommand(["DEL", prefix + id]),
    client,
  });
}
if (process.env.FLOOR === "1") {
  // What a script costs by itself: "raw" with each write sent as a script running that one command.
  const client = await connect();
  const prefix = "lua:";
  const load = (source) => client.sendCommand(["SCRIPT", "LOAD", source]);
  const set = await load("return redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])");
  const touch = await load("return redis.call('PEXPIREAT', KEYS[1], ARGV[1])");
  const del = await load("return redis.call('DEL', KEYS[1])");
  const at = (s) => String(s.cookie.expires.getTime());
  contenders.push({
    label: "raw in Lua",
    set: (id, s) => client.sendCommand(["EVALSHA", set, "1", prefix + id, JSON.stringify(s), at(s)]),
    get: (id) => client.sendCommand(["GET", prefix + id]).then((v) => v && JSON.parse(v)),
    touch: (id, s) => client.sendCommand(["EVALSHA", touch, "1", prefix + id, at(s)]),
    destroy: (id) => client.sendCommand(["EVALSHA", del, "1", prefix + id]),
    client,
  });
}
{
  const client = await connect();
  const store = new RedisStore({ client, prefix: "cr:" });
  contenders.push({
    label: "connect-redis",
    set: promised(store, "set"),
    get: promised(store, "get"),
    touch: promised(store, "touch"),
    destroy: promised(store, "destroy"),
    client,
  });
}
for (const build of builds) {
  const client = await connect();
  const options = { gcInterval: 0, ...(OWNER ? { owner: (s) => s.owner } : {}) };
  const store = build.createStore(build.redisAdapter(client, { prefix: `${build.label}:` }), options);
  await store.length(); // init: scripts loaded
  contenders.push({
    label: build.label,
    set: promised(store, "set"),
    get: promised(store, "get"),
    touch: promised(store, "touch"),
    destroy: promised(store, "destroy"),
    client,
    close: () => store.close(),
  });
}

if (process.env.ONLY) {
  const only = process.env.ONLY.split(",");
  for (const c of contenders.filter((c) => !only.includes(c.label))) {
    await c.close?.();
    await c.client.close();
  }
  contenders.splice(0, contenders.length, ...contenders.filter((c) => only.includes(c.label)));
}

// --- measuring ------------------------------------------------------------------------------------
async function serverStats() {
  const info = await admin.sendCommand(["INFO", "everything"]);
  const cpu = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? Number.NaN);
  const commands = {};
  for (const [, name, calls, usec] of info.matchAll(/cmdstat_(\w+):calls=(\d+),usec=(\d+)/g)) {
    if (name !== "info" && name !== "config") commands[name] = { calls: Number(calls), usec: Number(usec) };
  }
  return { cpu: (cpu("used_cpu_user_main_thread") + cpu("used_cpu_sys_main_thread")) * 1e6, commands };
}

async function block(contender, op, ids, sessions) {
  const fn = contender[op];
  await admin.sendCommand(["CONFIG", "RESETSTAT"]);
  const before = await serverStats();
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const i = next++;
      await (op === "get" || op === "destroy" ? fn(ids[i]) : fn(ids[i], sessions[i]));
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const after = await serverStats();
  // Commands a script runs count in commandstats too: with scripts, count the scripts and what
  // never runs in one (MGET); without, every command.
  const entries = Object.entries(after.commands);
  const scripted = entries.some(([name]) => name === "evalsha" || name === "eval");
  let commandUsec = 0;
  for (const [name, { usec }] of entries) {
    if (!scripted || name === "evalsha" || name === "eval" || name === "mget") commandUsec += usec;
  }
  return {
    wall: (wall * 1000) / ids.length,
    cpu: (cpu.user + cpu.system) / ids.length,
    server: (after.cpu - before.cpu) / ids.length,
    command: commandUsec / ids.length,
    commands: after.commands,
  };
}

const OPS_ORDER = ["set", "get", "touch", "update", "destroy"];
// With STEPS=get,touch only those are reported (set and destroy still run: they make and clear the ids).
const REPORTED = process.env.STEPS ? process.env.STEPS.split(",") : OPS_ORDER;
const results = new Map(); // `${label} ${op}` -> [{wall, cpu, server, command}]
const keep = (key, value) => results.set(key, [...(results.get(key) ?? []), value]);
const lastCommands = new Map();
for (let round = 0; round < ROUNDS; round++) {
  const data = contenders.map((c) => {
    const ids = Array.from(
      { length: OPS },
      (_, i) => `${c.label}-${round}-${i}-${Math.random().toString(36).slice(2)}`,
    );
    return { ids, sessions: ids.map(session) };
  });
  for (const [k, op] of OPS_ORDER.entries()) {
    const order = contenders.map((_, i) => (i + round + k) % contenders.length);
    for (const i of order) {
      const method = op === "update" ? "set" : op;
      const r = await block(contenders[i], method, data[i].ids, data[i].sessions);
      keep(`${contenders[i].label} ${op}`, r);
      lastCommands.set(`${contenders[i].label} ${op}`, r.commands);
    }
  }
  process.stderr.write(`round ${round + 1}/${ROUNDS}\r`);
}

// --- report -----------------------------------------------------------------------------------------
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const f = (n, d = 1) => n.toFixed(d);
const load = (await import("node:os")).loadavg()[0];
console.log(
  `${OPS} ops x ${ROUNDS} rounds, ${INFLIGHT} in flight, ${CALLBACKS ? "callbacks" : "promises"}${OWNER ? ", owner option" : ""}; load ${f(load, 1)}`,
);
console.log("µs per op, medians over rounds (wall | node CPU | server CPU | command time from commandstats)");
const labels = contenders.map((c) => c.label);
const ours = labels.includes(builds.at(-1).label) ? builds.at(-1).label : labels.at(-1);
for (const op of OPS_ORDER.filter((o) => REPORTED.includes(o))) {
  for (const label of labels) {
    const rs = results.get(`${label} ${op}`);
    const m = (k) => median(rs.map((r) => r[k]));
    let line = `${op.padEnd(8)} ${label.padEnd(14)} wall ${f(m("wall")).padStart(6)}  cpu ${f(m("cpu")).padStart(6)}  server ${f(m("server")).padStart(5)}  cmd ${f(m("command")).padStart(5)}`;
    if (label !== ours) {
      const mine = results.get(`${ours} ${op}`);
      const ratio = (k) => median(rs.map((r, i) => r[k] / mine[i][k]));
      line += `   ${ours} vs this: wall ${f(ratio("wall"), 2)}×  cpu ${f(ratio("cpu"), 2)}×  server ${f(ratio("server"), 2)}×`;
    }
    console.log(line);
  }
}
if (process.env.VERBOSE) {
  console.log("\ncommandstats of the last round (calls, µs per call):");
  for (const [key, commands] of lastCommands) {
    const list = Object.entries(commands).map(([n, { calls, usec }]) => `${n} ${calls} ${f(usec / calls, 2)}`);
    console.log(`${key.padEnd(24)} ${list.join(", ")}`);
  }
}

for (const c of contenders) {
  await c.close?.();
  await c.client.close();
}
await admin.close();
server.stop();
