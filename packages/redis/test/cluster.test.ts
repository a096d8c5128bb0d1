import { backendConformance } from "@sessionkit/conformance";
import { redisAdapter } from "@sessionkit/redis";
import { afterAll } from "vitest";
import { clusterGate, startCluster } from "./support/cluster.js";
import { ioRedisCluster, need, nodeRedisCluster } from "./support/redis.js";

// One cluster for this file: both clients' suites share it, each under its own prefix.
const skip = await clusterGate();
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
