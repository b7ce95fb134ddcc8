import { type TestServer, startNats, startRedis } from "@mcic/core/testing";
import { afterAll, beforeAll } from "vitest";
import { KubeSim } from "../kube-sim/index.js";
import { type Stack, type StackOptions, startStack } from "./stack.js";

/** What `useSimStack` started; read inside tests and hooks (it is filled in by beforeAll). */
export interface SimStack {
  readonly nats: TestServer;
  readonly redis: TestServer;
  readonly sim: KubeSim;
  readonly stack: Stack;
}

/**
 * An e2e file's usual setup: its own NATS, Redis and kube-sim, and api + watcher + dispatcher on
 * them, started before the file's tests and stopped after them (services first).
 */
export function useSimStack(options: Omit<StackOptions, "natsUrl" | "redisUrl"> = {}): SimStack {
  const started: Partial<Record<keyof SimStack, unknown>> = {};
  const get = <K extends keyof SimStack>(key: K): SimStack[K] => {
    const value = started[key];
    if (value === undefined) throw new Error(`useSimStack: ${key} is not started (read it inside a test or hook)`);
    return value as SimStack[K];
  };
  beforeAll(async () => {
    const [nats, redis, sim] = await Promise.all([startNats(), startRedis(), KubeSim.start()]);
    Object.assign(started, { nats, redis, sim });
    started.stack = await startStack({ natsUrl: nats.url, redisUrl: redis.url, ...options });
  }, 60_000);
  afterAll(async () => {
    await (started.stack as Stack | undefined)?.stop();
    await (started.sim as KubeSim | undefined)?.stop();
    await Promise.all([
      (started.nats as TestServer | undefined)?.stop(),
      (started.redis as TestServer | undefined)?.stop(),
    ]);
  });
  return {
    get nats() {
      return get("nats");
    },
    get redis() {
      return get("redis");
    },
    get sim() {
      return get("sim");
    },
    get stack() {
      return get("stack");
    },
  };
}
