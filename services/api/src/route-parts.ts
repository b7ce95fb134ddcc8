import {
  McicError,
  NotFoundError,
  type Registry,
  type StoredCluster,
  type StoredServer,
  ValidationError,
} from "@mcic/core";
import { EmptyBody } from "./schemas.js";

/** The stored server a `/servers/{name}…` route acts on; 404 when there is none. */
export async function requireServer(registry: Registry, name: string): Promise<StoredServer> {
  const stored = await registry.getServer(name);
  if (!stored) throw new NotFoundError("server", name);
  return stored;
}

/** The stored cluster a `/clusters/{name}` route acts on; 404 when there is none. */
export async function requireCluster(registry: Registry, name: string): Promise<StoredCluster> {
  const stored = await registry.getCluster(name);
  if (!stored) throw new NotFoundError("cluster", name);
  return stored;
}

/** A PUT body names what it replaces; it must be the record the path names. */
export function requireSameName(bodyName: string, pathName: string): void {
  if (bodyName !== pathName) {
    throw new ValidationError("name in body differs from the path", [
      { path: "name", message: `must be "${pathName}"` },
    ]);
  }
}

/** Body spec of an action that takes no options: `{}` or no body at all. */
export const NO_OPTIONS = {
  body: EmptyBody,
  bodyOptional: true,
  examples: { none: { summary: "no options", value: {} } },
} as const;

/** NATS or Redis did not take a write the route needs: 503, try again. */
export class UnavailableError extends McicError {
  constructor(message: string, cause: unknown) {
    super("unavailable", message, 503, { cause });
  }
}
