import { backendConformance } from "@sessionkit/conformance";
import { redisAdapter } from "@sessionkit/redis";
import { afterAll } from "vitest";
import { dropPrefix, ioRedis, need, nodeRedis, redisGate, testPrefix } from "./support/redis.js";

const skip = await redisGate();
const nodeClient = skip ? undefined : await nodeRedis();
const ioClient = skip ? undefined : await ioRedis();
const prefixes: string[] = [];
const prefix = (label: string) => {
  prefixes.push(testPrefix(label));
  return testPrefix(label);
};

afterAll(async () => {
  if (nodeClient) for (const p of prefixes) await dropPrefix(nodeClient, p);
  await nodeClient?.close();
  await ioClient?.quit();
});

const options = { skip, nativeExpiry: true } as const;
backendConformance(
  "redis (node-redis, standalone)",
  () => redisAdapter(need(nodeClient), { prefix: prefix("conf-nr") }),
  options,
);
backendConformance(
  "redis (ioredis, standalone)",
  () => redisAdapter(need(ioClient), { prefix: prefix("conf-io") }),
  options,
);
