// The two maintained CEL libraries for JavaScript side by side: what they make of the expressions
// mcic's filters need (conformance), and ns per evaluation of each (one run, same inputs).
// `node bench/dist/src/cel-compare.js` after `npm run build`.
import { celEnv, isCelError, parse, plan } from "@bufbuild/cel";
import { Environment } from "@marcbachmann/cel-js";

const object = {
  metadata: { name: "front", namespace: "shop", labels: { app: "web" } },
  spec: { rules: [{ host: "www.other.example" }, { host: "api.shop.example" }], replicas: 3 },
};
const bare = { metadata: { name: "bare" }, spec: {} };
const event = {
  type: "MODIFIED",
  cluster: "east",
  namespace: "shop",
  name: "front",
  labels: { app: "web" },
  changedPaths: ["spec"],
};

/** Expression, object, what CEL says it is ("error" = an evaluation error). */
const CASES: [string, object, boolean | "error" | "compile error"][] = [
  ['object.spec.rules.exists(r, r.host.endsWith(".shop.example"))', object, true],
  ['object.spec.rules.all(r, r.host.endsWith(".shop.example"))', object, false],
  ['object.spec.rules.exists(r, r.host == "x")', bare, "error"],
  ['has(object.spec.rules) && object.spec.rules.exists(r, r.host == "x")', bare, false],
  ['event.type in ["ADDED", "MODIFIED"]', object, true],
  ['"spec" in event.changedPaths', object, true],
  ["size(object.spec.rules) == 2", object, true],
  ['event.labels["app"] == "web"', object, true],
  ['event.labels.missing == "x"', object, "error"],
  ["object.spec.replicas == 3", object, true],
  ["object.spec.replicas > 2.5", object, true],
  ["object.metadata.?annotations.orValue({}).size() == 0", object, true],
  ["event.type + 1 == 2", object, "error"],
  ["unknown == 1", object, "error"],
  ["event.type ==", object, "compile error"],
];

const marc = new Environment({ enableOptionalTypes: true })
  .registerVariable("event", "map<string, dyn>")
  .registerVariable("object", "map<string, dyn>");
const buf = celEnv();

type Run = (vars: { event: object; object: object }) => unknown;
const compilers: Record<string, (source: string) => Run> = {
  "@marcbachmann/cel-js": (source) => {
    const program = marc.parse(source);
    const checked = program.check();
    if (!checked.valid) throw checked.error;
    return (vars) => program(vars);
  },
  "@bufbuild/cel": (source) => {
    const program = plan(buf, parse(source));
    return (vars) => {
      // Plain objects are read as maps although the typings list Map only.
      const value = program(vars as unknown as Parameters<typeof program>[0]);
      if (isCelError(value)) throw value;
      return value;
    };
  },
};

function outcome(compile: (s: string) => Run, source: string, obj: object): boolean | "error" | "compile error" {
  let run: Run;
  try {
    run = compile(source);
  } catch {
    return "compile error";
  }
  try {
    const value = run({ event, object: obj });
    return typeof value === "boolean" ? value : "error";
  } catch {
    return "error";
  }
}

console.log("conformance (expected → each library; * = differs)");
const names = Object.keys(compilers);
for (const [source, obj, expected] of CASES) {
  const got = names.map((n) => outcome(compilers[n] as (s: string) => Run, source, obj));
  const marks = got.map((g) => `${String(g)}${g === expected ? "" : "*"}`);
  console.log(`  ${source.padEnd(72)} ${String(expected).padEnd(13)} ${marks.map((m) => m.padEnd(14)).join(" ")}`);
}

console.log(`\nns per evaluation (${names.join(" | ")})`);
const N = Number(process.env.ITERATIONS ?? 100_000);
for (const [source, obj] of CASES.slice(0, 7)) {
  const times = names.map((n) => {
    const run = (compilers[n] as (s: string) => Run)(source);
    const vars = { event, object: obj };
    const call = () => {
      try {
        run(vars);
      } catch {
        // an evaluation error is an outcome too: it is timed like the others
      }
    };
    for (let i = 0; i < N / 10; i++) call();
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) call();
    return Number(process.hrtime.bigint() - start) / N;
  });
  console.log(`  ${source.padEnd(72)} ${times.map((t) => t.toFixed(0).padStart(8)).join(" ")}`);
}
