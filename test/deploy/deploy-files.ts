import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** What the compose and the k8s checks share: the repository, the Redis HA script, arguments. */

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** deploy/redis/redis-ha.sh: docker-compose.yml mounts it, k8s/overlays/ha gets it as a ConfigMap. */
export const REDIS_HA_SCRIPT = join(ROOT, "deploy", "redis", "redis-ha.sh");

/** The variables redis-ha.sh refuses to start without (its `: "${NAME:?}" …` line). */
export function redisHaRequiredVars(): string[] {
  const line = /^: (.+)$/m.exec(readFileSync(REDIS_HA_SCRIPT, "utf8"))?.[1] ?? "";
  return [...line.matchAll(/\$\{(\w+):\?\}/g)].map((m) => m[1] as string);
}

/** The value after `flag` in an argument list. */
export function argAfter(argv: string[], flag: string): string {
  const at = argv.indexOf(flag);
  const value = at < 0 ? undefined : argv[at + 1];
  if (value === undefined) throw new Error(`no ${flag} in ${argv.join(" ")}`);
  return value;
}
