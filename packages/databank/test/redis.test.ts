import { backendConformance, serviceGate, storeConformance } from "@sessionkit/conformance";
import { afterAll } from "vitest";
import { databankAdapter } from "../src/index.js";
import { deleteRedisKeys, redisCommand, redisParams, testType } from "./helpers.js";

const type = testType("conf");
const skip = await serviceGate("Redis", () => redisCommand("PING"));
afterAll(async () => {
  if (!skip) await deleteRedisKeys(type);
});

const spec = { driver: "redis", params: redisParams };
backendConformance("databank-redis", () => databankAdapter(spec, { type: `${type}_b` }), { skip });
storeConformance("databank-redis", () => databankAdapter(spec, { type: `${type}_s` }), { skip });
