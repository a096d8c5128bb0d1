import { configError } from "@sessionkit/core/kit";

/** A node-redis 5 client (`createClient()`), by the part of its public API the adapter uses. */
export interface NodeRedisClient {
  sendCommand(args: string[]): Promise<unknown>;
  listenerCount(event: "error"): number;
}

/** A node-redis 5 cluster (`createCluster()`), by the part of its public API the adapter uses. */
export interface NodeRedisCluster {
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
  readonly masters: ReadonlyArray<object>;
  nodeClient(node: object): NodeRedisClient | Promise<NodeRedisClient>;
  listenerCount(event: "error"): number;
}

/** An ioredis 5 client (`new Redis()`), by the part of its public API the adapter uses. */
export interface IoRedisClient {
  call(command: string, ...args: string[]): Promise<unknown>;
  readonly isCluster: boolean;
  readonly options: { readonly keyPrefix?: string | undefined };
}

/** An ioredis 5 cluster (`new Cluster()`), by the part of its public API the adapter uses. */
export interface IoRedisCluster {
  call(command: string, ...args: string[]): Promise<unknown>;
  readonly isCluster: boolean;
  readonly options: { readonly keyPrefix?: string | undefined };
  nodes(role: "master"): ReadonlyArray<{ call(command: string, ...args: string[]): Promise<unknown> }>;
}

/** Any client the adapter takes: node-redis 5 or ioredis 5, standalone or cluster. */
export type RedisClient = NodeRedisClient | NodeRedisCluster | IoRedisClient | IoRedisCluster;

/** Sends one command (the command name first) to one node. */
export type NodeSender = (args: string[]) => Promise<unknown>;

/** What the backend needs of a client, the same for every flavour. */
export interface Driver {
  /** "node-redis", "node-redis cluster", "ioredis" or "ioredis cluster". */
  readonly kind: string;
  readonly cluster: boolean;
  /** Sends one command, routed (in a cluster) by `key`, which every key of the command shares the slot of. */
  send(key: string, args: string[]): Promise<unknown>;
  /** One sender per master node (the client itself on a standalone Redis), for SCAN, INFO and SCRIPT LOAD. */
  masters(): Promise<NodeSender[]>;
}

const isFunction = (value: unknown) => typeof value === "function";
const SLOTS = 16_384;

/**
 * The masters, once the cluster confirms they serve every slot: a walk over them (SCAN) then
 * sees every key. A client drops a master it lost from its list, and a walk without it would
 * silently miss that master's sessions: here it fails instead.
 */
async function covering(masters: NodeSender[]): Promise<NodeSender[]> {
  if (masters.length === 0) throw new Error("the cluster client knows no master (not connected)");
  const [ids, ranges] = await Promise.all([
    Promise.all(masters.map((node) => node(["CLUSTER", "MYID"]))),
    masters[0]?.(["CLUSTER", "SLOTS"]) as Promise<[number, number, [string, number, string]][]>,
  ]);
  const reached = new Set(ids.map(String));
  let served = 0;
  for (const [from, to, master] of ranges) {
    if (!reached.has(String(master[2])))
      throw new Error(`cluster slots ${from}-${to} are on a master this client does not reach`);
    served += to - from + 1;
  }
  if (served !== SLOTS) throw new Error(`the cluster serves ${served} of ${SLOTS} slots`);
  return masters;
}

/** Tells the client's flavour by its shape and wraps it; refuses what can't work. Never changes the client. */
export function driverFor(client: unknown): Driver {
  const c = client as Record<string, unknown> | null;
  if (c !== null && typeof c === "object" && isFunction(c.call) && typeof c.isCluster === "boolean") {
    const io = c as unknown as IoRedisClient | IoRedisCluster;
    if (io.options?.keyPrefix) {
      throw configError(
        "client",
        `of redisAdapter has ioredis's keyPrefix set (${JSON.stringify(io.options.keyPrefix)}): it does not apply to SCAN patterns; use the adapter's "prefix" option instead`,
      );
    }
    const call = (args: string[]) => io.call(...(args as [string, ...string[]]));
    if (!io.isCluster)
      return { kind: "ioredis", cluster: false, send: (_key, args) => call(args), masters: async () => [call] };
    const cluster = io as IoRedisCluster;
    return {
      kind: "ioredis cluster",
      cluster: true,
      send: (_key, args) => call(args),
      masters: () =>
        covering(
          cluster.nodes("master").map((node) => (args: string[]) => node.call(...(args as [string, ...string[]]))),
        ),
    };
  }
  if (c !== null && typeof c === "object" && isFunction(c.sendCommand) && isFunction(c.listenerCount)) {
    const nr = c as unknown as NodeRedisClient | NodeRedisCluster;
    if (nr.listenerCount("error") === 0) {
      throw configError(
        "client",
        `of redisAdapter is a node-redis client without an "error" listener: node-redis then throws connection errors, which ends the process. Attach one first, e.g. client.on("error", (err) => logger.warn(err))`,
      );
    }
    if ("masters" in nr && isFunction(nr.nodeClient)) {
      const cluster = nr;
      return {
        kind: "node-redis cluster",
        cluster: true,
        send: (key, args) => cluster.sendCommand(key, false, args),
        async masters() {
          const clients = await Promise.all(cluster.masters.map((master) => cluster.nodeClient(master)));
          return covering(clients.map((node) => (args: string[]) => node.sendCommand(args)));
        },
      };
    }
    const single = nr as NodeRedisClient;
    const send = (args: string[]) => single.sendCommand(args);
    return { kind: "node-redis", cluster: false, send: (_key, args) => send(args), masters: async () => [send] };
  }
  throw configError(
    "client",
    "of redisAdapter must be a node-redis 5 client or cluster (createClient, createCluster) or an ioredis client or cluster (new Redis, new Cluster)",
  );
}
