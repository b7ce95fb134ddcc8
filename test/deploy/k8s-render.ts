import { spawnSync } from "node:child_process";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { expect } from "vitest";
import { parseAllDocuments } from "yaml";
import { ROOT } from "./deploy-files.js";

// k8s/ rendered with `kubectl kustomize` (any kubectl from Debian's 1.20 on) and checked offline
// two ways:
//   1. kubernetes-models: the Kubernetes OpenAPI schema per kind (required fields, types, enums);
//   2. the field lists of @kubernetes/client-node's models: no unknown (misspelt) field anywhere,
//      which the API server would drop silently.

export const NAMESPACE = "mcic";

export type Obj = Record<string, any>;

export function render(overlay: string): Obj[] {
  const out = spawnSync("kubectl", ["kustomize", join(ROOT, "k8s", "overlays", overlay)], {
    encoding: "utf8",
    timeout: 20_000,
  });
  if (out.status !== 0)
    throw new Error(`kubectl kustomize k8s/overlays/${overlay} failed:\n${out.stderr}${out.error ?? ""}`);
  const docs = parseAllDocuments(out.stdout);
  for (const doc of docs) if (doc.errors.length > 0) throw new Error(`bad YAML from kustomize: ${doc.errors[0]}`);
  return docs.map((d) => d.toJS() as Obj).filter(Boolean);
}

/** Schema errors of one object from kubernetes-models (by apiVersion and kind). */
async function schemaErrors(obj: Obj): Promise<string[]> {
  const path = `kubernetes-models/${obj.apiVersion}/${obj.kind}`;
  let mod: Record<string, any>;
  try {
    mod = await import(path);
  } catch {
    return [`no schema for ${obj.apiVersion} ${obj.kind} (${path})`];
  }
  const Model = mod[obj.kind] ?? mod.default;
  try {
    new Model(structuredClone(obj)).validate();
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/** Fields that no Kubernetes model of that place knows (typos such as `readinesProbe`). */
function unknownFields(obj: Obj): string[] {
  const version = String(obj.apiVersion).split("/").pop() ?? "";
  const root = `${version.charAt(0).toUpperCase()}${version.slice(1)}${obj.kind}`;
  if (!(k8s as Obj)[root]?.getAttributeTypeMap) return [`no field list for ${obj.apiVersion} ${obj.kind} (${root})`];
  const problems: string[] = [];
  const walk = (value: unknown, type: string, at: string): void => {
    if (value === null || value === undefined) return;
    const array = /^Array<(.+)>$/.exec(type);
    if (array) {
      if (!Array.isArray(value)) problems.push(`${at}: expected a list`);
      else for (const [i, item] of value.entries()) walk(item, array[1] as string, `${at}[${i}]`);
      return;
    }
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (map) {
      for (const [key, item] of Object.entries(value as Obj)) walk(item, map[1] as string, `${at}.${key}`);
      return;
    }
    const model = (k8s as Obj)[type];
    if (!model?.getAttributeTypeMap) return; // string, number, boolean, Date, IntOrString, any
    if (typeof value !== "object" || Array.isArray(value)) {
      problems.push(`${at}: expected an object (${type})`);
      return;
    }
    const fields = model.getAttributeTypeMap() as { baseName: string; type: string }[];
    for (const [key, item] of Object.entries(value as Obj)) {
      const field = fields.find((f) => f.baseName === key);
      if (!field) problems.push(`${at}.${key}: unknown field of ${type}`);
      else walk(item, field.type, `${at}.${key}`);
    }
  };
  walk(obj, root, `${obj.kind}/${obj.metadata?.name}`);
  return problems;
}

export async function validate(objects: Obj[]): Promise<string[]> {
  const problems: string[] = [];
  for (const obj of objects) {
    const name = `${obj.kind}/${obj.metadata?.name}`;
    for (const e of await schemaErrors(obj)) problems.push(`${name}: ${e}`);
    problems.push(...unknownFields(obj));
  }
  return problems;
}

export function find(objects: Obj[], kind: string, name: string): Obj {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`${kind}/${name} is not in the rendered output`);
  return found;
}

export function byPrefix(objects: Obj[], kind: string, prefix: string): Obj {
  const found = objects.filter((o) => o.kind === kind && String(o.metadata?.name).startsWith(prefix));
  if (found.length !== 1) throw new Error(`expected one ${kind} named ${prefix}*, found ${found.length}`);
  return found[0] as Obj;
}

export function container(deployment: Obj): Obj {
  const containers = deployment.spec.template.spec.containers as Obj[];
  expect(containers).toHaveLength(1);
  return containers[0] as Obj;
}

export function matches(selector: Obj, labels: Obj): boolean {
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}
