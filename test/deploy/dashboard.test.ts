import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// deploy/grafana-dashboard.json and docs/operations.md against the metrics the services expose.
// A service's metric names are taken from its sources once it defines any `mcic_<service>_…`
// metric; until then the names agreed for it (below) stand.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const AGREED: Record<string, string[]> = {
  watcher: [
    "mcic_watcher_events_published_total",
    "mcic_watcher_watch_restarts_total",
    "mcic_watcher_relists_total",
    "mcic_watcher_publish_lag_seconds",
    "mcic_watcher_owned_clusters",
  ],
  dispatcher: [
    "mcic_dispatcher_deliveries_total",
    "mcic_dispatcher_attempt_duration_seconds",
    "mcic_dispatcher_pending",
    "mcic_dispatcher_dead_letters_total",
  ],
  api: [
    "mcic_api_requests_total",
    "mcic_api_request_duration_seconds",
    "mcic_api_dispatcher_sync_total",
    "mcic_api_dispatcher_sync_seconds",
  ],
};
const PROCESS_METRICS = ["process_resident_memory_bytes", "nodejs_eventloop_lag_seconds", "process_cpu_seconds_total"];
/** Labels Prometheus or the metrics registry add to every series. */
const TARGET_LABELS = ["instance", "job", "service", "le"];

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string; datasource?: { uid: string } }[];
}

interface Defined {
  name: string;
  type: string;
  labels: string[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") && !path.endsWith(".test.ts") ? [path] : [];
  });
}

/** `new Counter|Gauge|Histogram|Summary({ name: "…", labelNames: [...] })` in a service's sources. */
function definedMetrics(service: string): Defined[] {
  const found: Defined[] = [];
  for (const file of sourceFiles(join(ROOT, "services", service, "src"))) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/new (Counter|Gauge|Histogram|Summary)(?:<[^>]*>)?\(\{([\s\S]*?)\}\)/g)) {
      const name = /name:\s*["'`]([a-z_:][a-z0-9_:]*)["'`]/.exec(m[2] as string)?.[1];
      if (!name) continue;
      const labels = /labelNames:\s*\[([^\]]*)\]/.exec(m[2] as string)?.[1] ?? "";
      found.push({
        name,
        type: m[1] as string,
        labels: [...labels.matchAll(/["'`]([^"'`]+)["'`]/g)].map((l) => l[1] as string),
      });
    }
  }
  return found;
}

const dashboard = JSON.parse(readFileSync(join(ROOT, "deploy", "grafana-dashboard.json"), "utf8")) as {
  title: string;
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string }[] };
};
const queryPanels = dashboard.panels.filter((p) => p.type !== "row");
const exprs = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

/** Base metric names in a PromQL expression (histogram series suffixes removed). */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b((?:mcic|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) =>
    (m[1] as string).replace(/_(bucket|sum|count)$/, ""),
  );
}

describe("deploy/grafana-dashboard.json", () => {
  it("is an importable dashboard: unique ids, a Prometheus data source variable, panels within the grid", () => {
    expect(dashboard.title).toBe("mcic");
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.templating.list.find((v) => v.name === "datasource")?.type).toBe("datasource");
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(p.gridPos.h, p.title).toBeGreaterThan(0);
    }
    for (const p of queryPanels) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable
      expect(p.datasource?.uid, p.title).toBe("${datasource}");
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.expr.trim(), p.title).not.toBe("");
    }
  });

  it("has a panel for every agreed metric and for the process defaults, and nothing else", () => {
    const used = new Set(exprs.flatMap(metricsIn));
    const known = [...Object.values(AGREED).flat(), ...PROCESS_METRICS];
    for (const name of known) expect([...used], name).toContain(name);
    for (const name of used) expect(known, name).toContain(name);
  });

  it("uses each service's metric names and labels as its sources define them", () => {
    for (const [service, agreed] of Object.entries(AGREED)) {
      const defined = definedMetrics(service).filter((d) => d.name.startsWith(`mcic_${service}_`));
      if (defined.length === 0) continue; // not implemented yet: the agreed names stand
      for (const name of agreed) {
        const metric = defined.find((d) => d.name === name);
        expect(metric, `${name} is on the dashboard but services/${service}/src does not define it`).toBeTruthy();
        for (const expr of exprs.filter((e) => metricsIn(e).includes(name))) {
          const grouped = [...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => (m[1] as string).split(/,\s*/));
          const selected = [...expr.matchAll(new RegExp(`${name}(?:_bucket|_sum|_count)?\\{([^}]*)\\}`, "g"))].flatMap(
            (m) => [...(m[1] as string).matchAll(/([a-z_]+)\s*[=!~]/g)].map((l) => l[1] as string),
          );
          for (const label of [...grouped, ...selected]) {
            if (!metricsIn(expr).every((n) => n === name)) continue; // labels of a mixed expression
            expect([...(metric?.labels ?? []), ...TARGET_LABELS], `${expr}: label ${label}`).toContain(label);
          }
        }
      }
    }
    // The watcher's metrics exist today: the check above must have run for them.
    expect(definedMetrics("watcher").map((d) => d.name)).toEqual(expect.arrayContaining(AGREED.watcher as string[]));
  });
});

describe("docs/operations.md", () => {
  const doc = readFileSync(join(ROOT, "docs", "operations.md"), "utf8");

  it("explains every metric on the dashboard and suggests alerts", () => {
    for (const name of new Set(exprs.flatMap(metricsIn))) {
      if (name === "process_cpu_seconds_total") continue;
      expect(doc, name).toContain(`\`${name}\``);
    }
    expect(doc).toMatch(/## Suggested alerts|### Suggested alerts/);
    for (const topic of ["## Sizing", "## Scaling", "## Upgrading", "## Backup", "## Rotating secrets"])
      expect(doc, topic).toContain(topic);
    expect(doc).toMatch(/bench\//);
  });
});
