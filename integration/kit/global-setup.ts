/**
 * vitest globalSetup of the "integration" project: one JetStream server for every suite
 * (or `NATS_URL`'s), handed to tests as `inject("natsUrl")` and `SHOAL_TEST_NATS_URL`.
 */
// Brings vitest's own types into the program so the augmentation below resolves.
import type {} from "vitest";
import type { TestProject } from "vitest/node";
import { natsForTests } from "./launcher.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of the shared test server. */
    natsUrl: string;
  }
}

/** Starts the shared server; the returned teardown stops it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const nats = await natsForTests();
  project.provide("natsUrl", nats.url);
  // For child processes (node processes under test) that cannot call inject().
  process.env.SHOAL_TEST_NATS_URL = nats.url;
  return () => nats.stop();
}
