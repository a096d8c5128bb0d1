import { backendConformance } from "@sessionkit/conformance";
import { redisAdapter } from "@sessionkit/redis";
import { afterAll } from "vitest";
import { ioRedisCluster, need, nodeRedisCluster } from "./support/redis.js";
import { serversGate, startCluster } from "./support/servers.js";

// One cluster for this file: both clients' suites share it, each under its own prefix.
const skip = await serversGate();
const cluster = skip ? undefined : await startCluster();
const nodeClient = cluster && (await nodeRedisCluster(cluster));
const ioClient = cluster && (await ioRedisCluster(cluster));

afterAll(async () => {
  await nodeClient?.close();
  await ioClient?.quit();
  await cluster?.stop();
});

const options = { skip, nativeExpiry: true } as const;
backendConformance("redis (node-redis, cluster)", () => redisAdapter(need(nodeClient), { prefix: "nr:" }), options);
backendConformance("redis (ioredis, cluster)", () => redisAdapter(need(ioClient), { prefix: "io:" }), options);
