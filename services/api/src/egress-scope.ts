import { AsyncLocalStorage } from "node:async_hooks";
import { type EgressPolicy, defaultEgressPolicy } from "@mcic/core";
import type Koa from "koa";

const scope = new AsyncLocalStorage<EgressPolicy>();

/**
 * Makes the API's egress policy visible to the body schemas of every request it handles. The
 * schemas are module constants shared by routes and the OpenAPI document, so the policy reaches
 * their refinements through the request's async context rather than through each route.
 */
export function egressScope(policy: EgressPolicy): Koa.Middleware {
  return (_ctx, next) => scope.run(policy, next);
}

/** The policy of the request being handled; SPEC's default outside one (documents, tests of schemas). */
export function requestEgressPolicy(): EgressPolicy {
  return scope.getStore() ?? defaultEgressPolicy();
}
