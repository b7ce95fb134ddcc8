// Where a heap snapshot's memory goes: self size by constructor (as DevTools' Summary groups it),
// and the average retained size of the objects one watch is made of. Reads the file in chunks, so
// snapshots larger than V8's longest string are fine.
// `node bench/dist/src/heap-summary.js <file.heapsnapshot> [watches] [top] [--self]` (--self skips
// retained sizes: the dominator tree takes minutes on snapshots of millions of objects).
import { closeSync, openSync, readSync } from "node:fs";
import { z } from "zod";

const MetaSchema = z.object({
  snapshot: z.object({
    meta: z.object({
      node_fields: z.array(z.string()),
      node_types: z.tuple([z.array(z.string())]).rest(z.unknown()),
      edge_fields: z.array(z.string()),
      edge_types: z.tuple([z.array(z.string())]).rest(z.unknown()),
    }),
    node_count: z.number().int(),
    edge_count: z.number().int(),
  }),
});

export interface HeapGraph {
  nodeFields: number;
  edgeFields: number;
  nodeTypes: string[];
  edgeTypes: string[];
  /** Flat, nodeFields per node (type, name, id, self_size, edge_count, ...). */
  nodes: Float64Array;
  /** Flat, edgeFields per edge (type, name_or_index, to_node as an index into `nodes`). */
  edges: Uint32Array;
  strings: string[];
}

/** Parses a .heapsnapshot file without holding its text: number arrays as they stream by. */
export function readHeapSnapshot(file: string): HeapGraph {
  const fd = openSync(file, "r");
  const chunk = Buffer.alloc(1 << 24);
  let text = "";
  let position = 0;
  const more = (): boolean => {
    const n = readSync(fd, chunk, 0, chunk.length, position);
    position += n;
    text += chunk.toString("latin1", 0, n);
    return n > 0;
  };
  try {
    while (!text.includes('"nodes":[') && more()) {}
    const start = text.indexOf('"nodes":[');
    const meta = MetaSchema.parse(JSON.parse(`${text.slice(0, start).replace(/,\s*$/, "")}}`));
    const m = meta.snapshot.meta;
    const nodes = new Float64Array(meta.snapshot.node_count * m.node_fields.length);
    const edges = new Uint32Array(meta.snapshot.edge_count * m.edge_fields.length);
    text = text.slice(start + '"nodes":['.length);
    /** Reads comma-separated numbers up to `]` into `into`. */
    const numbers = (into: Float64Array | Uint32Array) => {
      let i = 0;
      let value = -1;
      for (;;) {
        for (let p = 0; p < text.length; p++) {
          const c = text.charCodeAt(p);
          if (c >= 48 && c <= 57) value = (value < 0 ? 0 : value * 10) + (c - 48);
          else {
            if (value >= 0) into[i++] = value;
            value = -1;
            if (c === 93) {
              text = text.slice(p + 1);
              return;
            }
          }
        }
        text = "";
        if (!more()) throw new Error("heap snapshot ends inside a number array");
      }
    };
    numbers(nodes);
    while (!text.includes('"edges":[') && more()) {}
    text = text.slice(text.indexOf('"edges":[') + '"edges":['.length);
    numbers(edges);
    while (!text.includes('"strings":[') && more()) {}
    // The strings are JSON (UTF-8): collect their bytes, then parse them one at a time.
    let rest = Buffer.from(text.slice(text.indexOf('"strings":[') + '"strings":['.length), "latin1");
    text = "";
    const strings: string[] = [];
    for (;;) {
      let p = 0;
      for (;;) {
        const open = rest.indexOf(34, p);
        if (open === -1) break;
        let close = open + 1;
        while (close < rest.length && rest[close] !== 34) close += rest[close] === 92 ? 2 : 1;
        if (close >= rest.length) break;
        strings.push(JSON.parse(rest.toString("utf8", open, close + 1)) as string);
        p = close + 1;
      }
      const n = readSync(fd, chunk, 0, chunk.length, position);
      position += n;
      if (n === 0) break;
      rest = Buffer.concat([rest.subarray(p), chunk.subarray(0, n)]);
    }
    return {
      nodeFields: m.node_fields.length,
      edgeFields: m.edge_fields.length,
      nodeTypes: m.node_types[0],
      edgeTypes: m.edge_types[0],
      nodes,
      edges,
      strings,
    };
  } finally {
    closeSync(fd);
  }
}

/** DevTools' grouping: objects by constructor, everything else by its type. */
export function className(g: HeapGraph, node: number): string {
  const type = g.nodeTypes[g.nodes[node * g.nodeFields] as number] ?? "?";
  const name = g.strings[g.nodes[node * g.nodeFields + 1] as number] ?? "?";
  if (type === "object" || type === "native") return name.length > 60 ? `${name.slice(0, 57)}...` : name;
  if (type === "closure") return "(closure)";
  if (type === "concatenated string" || type === "sliced string") return "(string)";
  if (type === "hidden" && name.startsWith("system /")) return `(${name})`;
  return `(${type})`;
}

/**
 * Retained size of every node: the size of what would be freed with it, from the dominator tree
 * (Cooper, Harvey, Kennedy: iterate to a fixed point over reverse postorder). Weak edges do not retain.
 */
export function retainedSizes(g: HeapGraph): Float64Array {
  const count = g.nodes.length / g.nodeFields;
  const firstEdge = new Uint32Array(count + 1);
  for (let n = 0, e = 0; n < count; n++) {
    firstEdge[n] = e;
    e += (g.nodes[n * g.nodeFields + 4] as number) * g.edgeFields;
  }
  firstEdge[count] = g.edges.length;
  const weak = g.edgeTypes.indexOf("weak");
  const target = (e: number) => (g.edges[e + 2] as number) / g.nodeFields;
  // Postorder by an explicit-stack depth-first walk from the root (node 0).
  const order = new Int32Array(count).fill(-1);
  const postorder = new Uint32Array(count);
  const stackNode = new Uint32Array(count);
  const stackEdge = new Uint32Array(count);
  let reached = 0;
  let depth = 0;
  const visited = new Uint8Array(count);
  visited[0] = 1;
  stackNode[0] = 0;
  stackEdge[0] = firstEdge[0] as number;
  depth = 1;
  while (depth > 0) {
    const n = stackNode[depth - 1] as number;
    const e = stackEdge[depth - 1] as number;
    if (e < (firstEdge[n + 1] as number)) {
      stackEdge[depth - 1] = e + g.edgeFields;
      if (g.edges[e] === weak) continue;
      const t = target(e);
      if (visited[t]) continue;
      visited[t] = 1;
      stackNode[depth] = t;
      stackEdge[depth] = firstEdge[t] as number;
      depth++;
    } else {
      order[n] = reached;
      postorder[reached++] = n;
      depth--;
    }
  }
  // Predecessors of reachable nodes, by strong edges.
  const predCount = new Uint32Array(count + 1);
  for (let n = 0; n < count; n++) {
    if (order[n] === -1) continue;
    for (let e = firstEdge[n] as number; e < (firstEdge[n + 1] as number); e += g.edgeFields)
      if (g.edges[e] !== weak) predCount[target(e) + 1] = (predCount[target(e) + 1] as number) + 1;
  }
  for (let n = 0; n < count; n++) predCount[n + 1] = (predCount[n + 1] as number) + (predCount[n] as number);
  const preds = new Uint32Array(predCount[count] as number);
  const fill = predCount.slice(0, count);
  for (let n = 0; n < count; n++) {
    if (order[n] === -1) continue;
    for (let e = firstEdge[n] as number; e < (firstEdge[n + 1] as number); e += g.edgeFields)
      if (g.edges[e] !== weak) {
        const t = target(e);
        preds[fill[t] as number] = n;
        fill[t] = (fill[t] as number) + 1;
      }
  }
  // Immediate dominators, by postorder number.
  const idom = new Int32Array(count).fill(-1);
  const root = order[0] as number;
  idom[root] = root;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (a < b) a = idom[a] as number;
      while (b < a) b = idom[b] as number;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = reached - 2; i >= 0; i--) {
      const n = postorder[i] as number;
      let dom = -1;
      for (let p = predCount[n] as number; p < (predCount[n + 1] as number); p++) {
        const q = order[preds[p] as number] as number;
        if (idom[q] === -1) continue;
        dom = dom === -1 ? q : intersect(q, dom);
      }
      if (dom !== -1 && idom[i] !== dom) {
        idom[i] = dom;
        changed = true;
      }
    }
  }
  const retained = new Float64Array(count);
  for (let i = 0; i < reached; i++) retained[i] = g.nodes[(postorder[i] as number) * g.nodeFields + 3] as number;
  // Children come before their dominators in postorder.
  for (let i = 0; i < reached - 1; i++) {
    const d = idom[i] as number;
    retained[d] = (retained[d] as number) + (retained[i] as number);
  }
  const byNode = new Float64Array(count);
  for (let i = 0; i < reached; i++) byNode[postorder[i] as number] = retained[i] as number;
  return byNode;
}

const isMain = process.argv[1]?.endsWith("heap-summary.js");
if (isMain) {
  const [file, watchesText, topText, selfOnly] = process.argv.slice(2);
  if (!file) throw new Error("usage: heap-summary <file.heapsnapshot> [watches] [top]");
  const watches = Number(watchesText ?? 0);
  const top = Number(topText ?? 30);
  const g = readHeapSnapshot(file);
  const count = g.nodes.length / g.nodeFields;
  const retained = selfOnly === "--self" ? new Float64Array(count) : retainedSizes(g);
  const groups = new Map<string, { count: number; self: number; retained: number }>();
  let total = 0;
  for (let n = 0; n < count; n++) {
    const name = className(g, n);
    const self = g.nodes[n * g.nodeFields + 3] as number;
    total += self;
    const group = groups.get(name) ?? { count: 0, self: 0, retained: 0 };
    group.count++;
    group.self += self;
    group.retained += retained[n] as number;
    groups.set(name, group);
  }
  const kib = (b: number) => (b / 1024).toFixed(1);
  const perWatch = (b: number) => (watches > 0 ? `${(b / watches).toFixed(0)}` : "");
  console.log(
    `${count} nodes, ${(total / 2 ** 20).toFixed(1)} MiB self size in all${watches ? `, ${watches} watches` : ""}`,
  );
  console.log("");
  console.log("| constructor / type | count | self KiB | self B per watch | avg retained B per instance |");
  console.log("|---|---|---|---|---|");
  for (const [name, s] of [...groups].sort((a, b) => b[1].self - a[1].self).slice(0, top)) {
    console.log(
      `| ${name} | ${s.count} | ${kib(s.self)} | ${perWatch(s.self)} | ${(s.retained / s.count).toFixed(0)} |`,
    );
  }
}
