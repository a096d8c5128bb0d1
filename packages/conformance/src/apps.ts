import type { SessionkitStore } from "@sessionkit/core";
import { startExpressApp } from "./express-app.js";
import { startFastifyApp } from "./fastify-app.js";
import { Gates } from "./gates.js";
import type { Framework, TestApp, TestAppOptions } from "./test-app.js";

/** Starts the app of one framework over the store (routes in `TestApp`). One store serves one app. */
export function startTestApp(
  framework: Framework,
  store: SessionkitStore,
  gates: Gates = new Gates(),
  options: TestAppOptions = {},
): Promise<TestApp> {
  return framework === "express" ? startExpressApp(store, gates, options) : startFastifyApp(store, gates, options);
}
