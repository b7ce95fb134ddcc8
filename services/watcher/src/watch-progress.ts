export type WatchState = "syncing" | "watching" | "error";

/** Where one watch stands: its state, last stored resourceVersion, time of its last event. */
export interface WatchProgress {
  state: WatchState;
  message?: string;
  resourceVersion?: string;
  lastEventAt?: string;
}

const RANK = { error: 3, syncing: 2, watching: 1 } as const;

/** The worst of several watches (a resource's namespaces): an error anywhere is the resource's error. */
export function worstProgress(progress: readonly WatchProgress[]): WatchProgress {
  let worst: WatchProgress | undefined;
  for (const p of progress) if (!worst || RANK[p.state] > RANK[worst.state]) worst = p;
  return worst ?? { state: "syncing" };
}
