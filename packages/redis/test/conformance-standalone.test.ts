import { backendConformance, storeConformance } from "@sessionkit/conformance";
import { redisAdapter } from "@sessionkit/redis";
import { afterAll } from "vitest";
import { dropPrefix, ioRedis, need, nodeRedis, redisGate, testPrefix } from "./support/redis.js";

const skip = await redisGate();
const nodeClient = skip ? undefined : await nodeRedis();
const ioClient = skip ? undefined : await ioRedis();
const prefixes = ["backend-nr", "backend-io", "store-nr", "store-io"].map(testPrefix);

afterAll(async () => {
  if (nodeClient) for (const prefix of prefixes) await dropPrefix(nodeClient, prefix);
  await nodeClient?.close();
  await ioClient?.quit();
});

const options = { skip, nativeExpiry: true } as const;
const [backendNr, backendIo, storeNr, storeIo] = prefixes;
backendConformance(
  "redis (node-redis, standalone)",
  () => redisAdapter(need(nodeClient), { prefix: backendNr }),
  options,
);
backendConformance("redis (ioredis, standalone)", () => redisAdapter(need(ioClient), { prefix: backendIo }), options);
storeConformance("redis (node-redis, standalone)", () => redisAdapter(need(nodeClient), { prefix: storeNr }), options);
storeConformance("redis (ioredis, standalone)", () => redisAdapter(need(ioClient), { prefix: storeIo }), options);
