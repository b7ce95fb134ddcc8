import { ClusterInputSchema } from "@mcic/core";
import { z } from "zod";

/**
 * Bodies of the PATCH routes: JSON Merge Patches (RFC 7396). The route checks only that the patch
 * is an object; the patched registration is then validated exactly like a PUT body.
 */
const mergePatch = (id: string, description: string) =>
  z
    .preprocess(
      (value, ctx) => {
        // zod's record drops a "__proto__" key without an issue: refuse it as an unknown field.
        if (value !== null && typeof value === "object" && Object.hasOwn(value, "__proto__")) {
          ctx.addIssue({ code: "custom", path: ["__proto__"], message: "unknown field __proto__" });
        }
        return value;
      },
      z.record(z.string(), z.unknown(), { error: "must be a JSON object (RFC 7396 merge patch)" }),
    )
    .meta({ id, description });

export const ServerPatchBody = mergePatch(
  "ServerMergePatch",
  "A JSON Merge Patch (RFC 7396) of a server registration (see ServerInput): fields given replace the " +
    "stored ones, objects (`filters`, `headers`, `retry`, `rateLimit`) merge key by key, `null` removes a " +
    "field (it then takes its default, as in a PUT without it). The result must be a valid registration, " +
    "else 400 and nothing changes. `name` cannot change. `secret` given replaces the signing secret; absent " +
    "or null keeps it (use rotate-secret for an overlap). `enabled: true` also enables a server a dispatcher " +
    "disabled (HTTP 410 or failing for `disableAfterSeconds`) and restarts its failure window.",
);

export const SERVER_PATCH_EXAMPLES = {
  enable: { summary: "enable a disabled server again", value: { enabled: true } },
  url: { summary: "move to a new URL, everything else kept", value: { url: "http://10.0.0.10:8080/events" } },
  rate: { summary: "limit to 20 deliveries a second", value: { rateLimit: { perSecond: 20, burst: 5 } } },
  filters: {
    summary: "add a namespace filter, drop the label selector",
    value: { filters: { namespaces: ["shop"], labelSelector: null } },
  },
};

export const ClusterPatchBody = mergePatch(
  "ClusterMergePatch",
  "A JSON Merge Patch (RFC 7396) of a cluster registration (see ClusterInput). `resources`, `namespaces` " +
    "and `labelSelector` are patched like any field (`null` removes one). The connection is patched as a " +
    "whole: a patch naming none of `kubeconfig`, `context`, `server`, `token`, `caData`, " +
    "`insecureSkipTLSVerify` keeps the stored credentials; one naming any of them replaces the connection " +
    "with what it gives, which must be complete as in a PUT (`kubeconfig` or `server`). The result is " +
    "validated like a PUT body: 400 and nothing changes when it is invalid. `name` cannot change.",
);

export const CLUSTER_PATCH_EXAMPLES = {
  resources: { summary: "watch services too, credentials kept", value: { resources: ["ingresses", "services"] } },
  namespaces: { summary: "watch every namespace again", value: { namespaces: null } },
  token: {
    summary: "new API server token (the connection is given whole)",
    value: { server: "https://10.0.0.5:6443", token: "new-service-account-token", insecureSkipTLSVerify: true },
  },
};

const shape = ClusterInputSchema.shape;

/** A cluster patch that leaves the connection alone is checked against the other fields only. */
export const ClusterSettingsSchema = z.strictObject({
  name: shape.name,
  resources: shape.resources,
  namespaces: shape.namespaces,
  labelSelector: shape.labelSelector,
});

/** The fields that make up a cluster's connection: a patch naming any of them replaces it whole. */
export const CLUSTER_CONNECTION_FIELDS = [
  "kubeconfig",
  "context",
  "server",
  "token",
  "caData",
  "insecureSkipTLSVerify",
] as const;
