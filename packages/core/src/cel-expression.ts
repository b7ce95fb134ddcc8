import { type ASTNode, Environment } from "@marcbachmann/cel-js";
import type { Envelope } from "./envelope.js";
import { McicError } from "./errors.js";

/**
 * Work one evaluation may do: one unit per node evaluated (each iteration of a comprehension
 * evaluates its body again) plus one per 16 elements or characters of every list or string a
 * node yields. A filter over an ingress costs a few hundred; the limit stops quadratic
 * comprehensions over large lists and strings doubled in a loop within a few milliseconds.
 */
export const CEL_COST_LIMIT = 100_000;

/** Parse-time bounds: the 4096 characters of the schema allow no more than this in practice. */
const LIMITS = { maxAstNodes: 1024, maxDepth: 32, maxListElements: 256, maxMapEntries: 256, maxCallArguments: 8 };

/** JavaScript RegExp backtracks (CEL asks for RE2): a pattern could stall the dispatcher. */
const REFUSED_FUNCTIONS = new Map([["matches", "matches() is not offered (no linear-time regex engine)"]]);

/** An expression that does not compile: syntax, type or limit error, with its position. */
export class ExpressionError extends McicError {
  constructor(message: string) {
    super("invalid_expression", message, 400);
  }
}

/** An evaluation that did not yield true or false: the filter then does not match. */
export class ExpressionEvaluationError extends McicError {
  constructor(message: string, options?: ErrorOptions) {
    super("expression_failed", message, 500, options);
  }
}

/**
 * `event` is the envelope without `object`; every field is always present so expressions need no
 * has(). Declared as a type so `event.foo` is a compile error; handed over as an instance of
 * that type, built once per envelope, so no evaluation converts it again.
 */
class CelEvent {
  constructor(fields: Record<string, unknown>) {
    Object.assign(this, fields);
  }
}
const EVENT_FIELDS = {
  id: "string",
  type: "string",
  cluster: "string",
  group: "string",
  version: "string",
  resource: "string",
  kind: "string",
  namespace: "string",
  name: "string",
  uid: "string",
  resourceVersion: "string",
  observedAt: "string",
  snapshot: "bool",
  labels: "map<string, string>",
  changedPaths: "list<string>",
};

const env = new Environment({ limits: LIMITS, homogeneousAggregateLiterals: false })
  .registerType("McicEvent", { ctor: CelEvent, fields: EVENT_FIELDS })
  .registerVariable("event", "McicEvent")
  .registerVariable("object", "map<string, dyn>");

const meter = { spent: 0 };
installMeter();

/**
 * The library has no cost limit of its own. Every node below the root is evaluated through the
 * evaluator's `run`, so counting there bounds the work of one evaluation. The evaluator is
 * private; a macro receives it, so a one-time probe hands it over and is then disabled.
 * Pinned library version; cel-expression.test.ts fails if an upgrade bypasses the meter.
 */
function installMeter(): void {
  let evaluator: { run(ast: MeteredNode, ctx: unknown): unknown } | undefined;
  let armed = true;
  env.registerFunction({
    name: "__mcicMeterProbe",
    returnType: "dyn",
    params: [{ name: "x", type: "ast" }],
    handler: () => ({
      typeCheck: (checker: { getType(t: string): unknown }) => {
        if (!armed) throw new ExpressionError("unknown function __mcicMeterProbe");
        return checker.getType("dyn");
      },
      evaluate: (ev: typeof evaluator) => {
        evaluator = ev;
        return null;
      },
    }),
  });
  env.evaluate("__mcicMeterProbe(0)", {});
  armed = false;
  if (!evaluator) throw new Error("CEL cost meter could not be installed");
  evaluator.run = function run(this: unknown, ast: MeteredNode, ctx: unknown) {
    const value = ast.evaluate(this, ast, ctx);
    meter.spent += 1;
    if (typeof value === "string" || Array.isArray(value)) meter.spent += value.length >> 4;
    if (meter.spent > CEL_COST_LIMIT) {
      throw new ExpressionEvaluationError(`evaluation exceeded the cost limit of ${CEL_COST_LIMIT}`);
    }
    return value;
  };
}

interface MeteredNode {
  evaluate(ev: unknown, ast: MeteredNode, ctx: unknown): unknown;
}

export interface CompiledExpression {
  /** true or false; throws ExpressionEvaluationError (missing field, wrong type, cost limit). */
  evaluate(e: Envelope): boolean;
}

/** Parses and type-checks once; throws ExpressionError naming the position of the problem. */
export function compileExpression(source: string): CompiledExpression {
  let program: ReturnType<typeof env.parse>;
  try {
    program = env.parse(source);
  } catch (err) {
    throw new ExpressionError(describe(err, source));
  }
  const refused = findRefused(program.ast);
  if (refused) throw new ExpressionError(`${refused.message} ${position(source, refused.at)}`);
  const checked = program.check();
  if (!checked.valid) throw new ExpressionError(describe(checked.error, source));
  if (checked.type !== "bool" && checked.type !== "dyn") {
    throw new ExpressionError(`must yield a bool, not ${checked.type}`);
  }
  return {
    evaluate(e) {
      meter.spent = 0;
      let value: unknown;
      try {
        value = program(celVariables(e));
      } catch (err) {
        if (err instanceof ExpressionEvaluationError) throw err;
        throw new ExpressionEvaluationError(firstLine(err), { cause: err });
      }
      if (typeof value !== "boolean") throw new ExpressionEvaluationError(`yielded ${typeof value}, not a bool`);
      return value;
    },
  };
}

/** The message of a compile problem; `undefined` when the expression is fine. */
export function expressionProblem(source: string): string | undefined {
  try {
    compileExpression(source);
    return undefined;
  } catch (err) {
    if (err instanceof ExpressionError) return err.message;
    throw err;
  }
}

// Every server's expression sees the same variables for one event: build them once.
const variablesCache = new WeakMap<Envelope, Record<string, unknown>>();

function celVariables(e: Envelope): Record<string, unknown> {
  let vars = variablesCache.get(e);
  if (!vars) {
    const metadata = e.object.metadata as { labels?: Record<string, string> } | undefined;
    const { object, sealedSecretValues: _sealed, ...rest } = e;
    const changedPaths = (e as { changedPaths?: string[] }).changedPaths ?? [];
    vars = {
      // Cluster-scoped objects have namespace "", as Kubernetes writes it.
      event: new CelEvent({
        ...rest,
        namespace: e.namespace ?? "",
        snapshot: e.snapshot ?? false,
        labels: metadata?.labels ?? {},
        changedPaths,
      }),
      object,
    };
    variablesCache.set(e, vars);
  }
  return vars;
}

function findRefused(root: ASTNode): { message: string; at: number } | undefined {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    if (!isNode(node)) continue;
    if (node.op === "call" || node.op === "rcall") {
      const message = REFUSED_FUNCTIONS.get(node.args[0]);
      if (message) return { message, at: node.input.indexOf(node.args[0], node.pos) };
    }
    stack.push(node.args);
  }
  return undefined;
}

function isNode(value: unknown): value is ASTNode {
  return typeof value === "object" && value !== null && "op" in value && "args" in value;
}

/** "<problem> at line L, column C" (1-based); the library's message adds a source excerpt. */
function describe(err: unknown, source: string): string {
  const at =
    (err as { range?: { start: number }; node?: { pos: number } }).range?.start ??
    (err as { node?: { pos: number } }).node?.pos;
  return at === undefined ? firstLine(err) : `${firstLine(err)} ${position(source, at)}`;
}

function position(source: string, at: number): string {
  const before = source.slice(0, at).split("\n");
  return `at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split("\n")[0] ?? "";
}
