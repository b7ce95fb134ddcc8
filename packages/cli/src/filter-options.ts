import type { Command } from "commander";
import { collect, oneOf } from "./args.js";

/** The filter options `server add/update` and `tail` share (a server's filters, as flags). */
export interface FilterOptions {
  cluster?: string[];
  resource?: string[];
  namespace?: string[];
  excludeNamespace?: string[];
  namePattern?: string[];
  eventType?: string[];
  labelSelector?: string;
}

const EVENT_TYPES = ["ADDED", "MODIFIED", "DELETED"] as const;

export function addFilterOptions(command: Command): Command {
  return command
    .option("--cluster <list>", "only events of these clusters (comma separated or repeated)", collect)
    .option("--resource <list>", "only these resources (e.g. ingresses,services)", collect)
    .option("--namespace <list>", "only these namespaces", collect)
    .option("--exclude-namespace <list>", "never these namespaces", collect)
    .option("--name-pattern <list>", "only objects whose name matches one of these globs (* and ?)", collect)
    .option("--event-type <list>", "only these event types: ADDED, MODIFIED, DELETED", oneOf(EVENT_TYPES))
    .option("--label-selector <selector>", "only objects with these labels");
}
