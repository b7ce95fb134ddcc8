import { type Envelope, type EnvelopeMatcher, type ServerFilters, eventResourceKeys, pinnedKeys } from "@mcic/core";

type Dimension = "clusters" | "namespaces" | "resources";
const DIMENSIONS: readonly Dimension[] = ["namespaces", "clusters", "resources"];

/**
 * Finds the items (servers) whose filters match an event without running every item's matcher:
 * each item is filed under the values of one dimension its filters pin (cluster, namespace or
 * resource), or in the wildcard list if they pin none, and an event runs the full matcher only on
 * the items filed under its own values plus the wildcard ones. An item filed under a dimension
 * cannot match an event whose value there is not one of its keys, so the result is exactly what
 * a scan of all items gives, in the same (registration list) order.
 */
export class MatchingIndex<T extends { matches: EnvelopeMatcher }> {
  readonly #items: readonly T[];
  /** Per dimension, value → ordinals (ascending) of the items filed under it. */
  readonly #buckets: Record<Dimension, Map<string, number[]>> = {
    clusters: new Map(),
    namespaces: new Map(),
    resources: new Map(),
  };
  readonly #wildcard: number[] = [];

  constructor(items: readonly T[], filtersOf: (item: T) => ServerFilters) {
    this.#items = items;
    const pinned = items.map((item) => pinnedKeys(filtersOf(item)));
    // How many items pin each value, in any dimension: an item is filed where its values are
    // rarest, so an event looks at the fewest items that cannot match it.
    const pinCount: Record<Dimension, Map<string, number>> = {
      clusters: new Map(),
      namespaces: new Map(),
      resources: new Map(),
    };
    for (const keys of pinned) {
      for (const d of DIMENSIONS) for (const k of keys[d] ?? []) pinCount[d].set(k, (pinCount[d].get(k) ?? 0) + 1);
    }
    pinned.forEach((keys, ordinal) => {
      let best: Dimension | undefined;
      let bestCost = Number.POSITIVE_INFINITY;
      for (const d of DIMENSIONS) {
        const values = keys[d];
        if (!values) continue;
        let cost = 0;
        for (const k of values) cost += pinCount[d].get(k) ?? 0;
        if (cost < bestCost) {
          best = d;
          bestCost = cost;
        }
      }
      if (!best) {
        this.#wildcard.push(ordinal);
        return;
      }
      const buckets = this.#buckets[best];
      for (const k of keys[best] ?? []) {
        const bucket = buckets.get(k);
        if (bucket) bucket.push(ordinal);
        else buckets.set(k, [ordinal]);
      }
    });
  }

  get size(): number {
    return this.#items.length;
  }

  /** The items whose matcher accepts the event, in the order they were given. */
  match(e: Envelope): T[] {
    const lists: number[][] = [];
    const add = (list: number[] | undefined) => {
      if (list && list.length > 0) lists.push(list);
    };
    add(this.#buckets.clusters.get(e.cluster));
    if (e.namespace !== undefined) add(this.#buckets.namespaces.get(e.namespace));
    const [plural, qualified] = eventResourceKeys(e);
    add(this.#buckets.resources.get(plural));
    if (qualified !== plural) add(this.#buckets.resources.get(qualified));
    add(this.#wildcard);
    const matched: T[] = [];
    if (lists.length === 1) {
      for (const ordinal of lists[0] as number[]) this.#test(ordinal, e, matched);
      return matched;
    }
    // Merge the ascending lists so matchers run (and matches return) in list order; an item
    // pinning both names of one resource is in two lists and runs once.
    const at = lists.map(() => 0);
    let last = -1;
    for (;;) {
      let next = -1;
      let from = -1;
      for (let i = 0; i < lists.length; i++) {
        const v = (lists[i] as number[])[at[i] as number];
        if (v !== undefined && (next < 0 || v < next)) {
          next = v;
          from = i;
        }
      }
      if (from < 0) return matched;
      at[from] = (at[from] as number) + 1;
      if (next === last) continue;
      last = next;
      this.#test(next, e, matched);
    }
  }

  #test(ordinal: number, e: Envelope, matched: T[]): void {
    const item = this.#items[ordinal] as T;
    if (item.matches(e)) matched.push(item);
  }
}
