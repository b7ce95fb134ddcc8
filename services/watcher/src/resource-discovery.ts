import { McicError, type ResourceRef, apiPrefix } from "@mcic/core";
import { z } from "zod";
import { KubeApiError, type KubeClient } from "./kube-client.js";

/** The cluster does not serve the resource (CRD not installed, wrong group or version). */
export class ResourceNotServedError extends McicError {
  constructor(message: string) {
    super("resource_not_served", message, 502);
  }
}

const ApiResourceListSchema = z.object({
  resources: z.array(z.object({ name: z.string(), kind: z.string() })),
});

/** Checks that the cluster serves the resource, and returns its kind. */
export async function discoverKind(client: KubeClient, ref: ResourceRef, signal: AbortSignal): Promise<string> {
  let answer: unknown;
  try {
    answer = await client.getJson(apiPrefix(ref), {}, signal);
  } catch (err) {
    if (err instanceof KubeApiError && err.httpStatus === 404) {
      throw new ResourceNotServedError(`API ${apiPrefix(ref).slice(1)} is not served by this cluster`);
    }
    throw err;
  }
  const list = ApiResourceListSchema.safeParse(answer);
  if (!list.success) {
    throw new McicError("kube_bad_answer", `GET ${apiPrefix(ref)}: the answer is not an APIResourceList`, 502);
  }
  const found = list.data.resources.find((r) => r.name === ref.resource);
  if (!found) {
    throw new ResourceNotServedError(
      `resource "${ref.resource}" is not served by ${apiPrefix(ref).slice(1)} in this cluster`,
    );
  }
  return found.kind;
}
