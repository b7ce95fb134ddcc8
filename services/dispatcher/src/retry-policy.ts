import type { AttemptResult } from "@mcic/core";

/** What to do after a failed attempt, per docs/contract.md "Delivery to servers". */
export type Verdict = "retry" | "dead-letter" | "disable";

/** `errorCode` egress_denied: the policy refused the address, so no retry can get through. */
export function classify(status: number, errorCode?: AttemptResult["errorCode"]): Verdict {
  if (errorCode === "egress_denied") return "dead-letter";
  if (status === 0 || status === 408 || status === 429 || status >= 500) return "retry";
  if (status === 410) return "disable";
  return "dead-letter";
}

/** Delay before the next attempt: the schedule's entry (last repeats), ±20% jitter, Retry-After honoured. */
export function retryDelay(
  schedule: number[],
  attempt: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const base = schedule[Math.min(attempt - 1, schedule.length - 1)] ?? 1000;
  const jittered = Math.round(base * (0.8 + random() * 0.4));
  return Math.max(jittered, retryAfterMs ?? 0);
}
