import { parseArgs } from "node:util";
import { z } from "zod";

export const USAGE = `usage: mcic-ingress-device --out <file> [--port 8088] [--host 127.0.0.1] [--state-dir <dir>]
       [--listen-port 80] [--upstream-port 80] [--no-check] [--reload]
environment: MCIC_WEBHOOK_SECRETS=whsec_...[,whsec_...]  the server's secret(s) (two during a rotation)`;

const port = z.coerce.number().int().min(0).max(65535);
const OptionsSchema = z.object({
  out: z.string().min(1),
  port: port.default(8088),
  host: z.string().min(1).default("127.0.0.1"),
  stateDir: z.string().min(1).optional(),
  listenPort: port.min(1).default(80),
  upstreamPort: port.min(1).default(80),
  check: z.boolean().default(true),
  reload: z.boolean().default(false),
  secrets: z
    .string({ error: "MCIC_WEBHOOK_SECRETS is required" })
    .transform((s) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().startsWith("whsec_", "each secret starts with whsec_")).min(1)),
});
export type DeviceCliOptions = z.infer<typeof OptionsSchema>;

/** Flags and environment, validated; throws an Error naming the bad flag or variable. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): DeviceCliOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      out: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      "state-dir": { type: "string" },
      "listen-port": { type: "string" },
      "upstream-port": { type: "string" },
      "no-check": { type: "boolean" },
      reload: { type: "boolean" },
    },
  });
  const parsed = OptionsSchema.safeParse({
    out: values.out,
    port: values.port,
    host: values.host,
    stateDir: values["state-dir"],
    listenPort: values["listen-port"],
    upstreamPort: values["upstream-port"],
    check: !values["no-check"],
    reload: values.reload ?? false,
    secrets: env.MCIC_WEBHOOK_SECRETS,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? "");
    const flag =
      name === "secrets" ? "MCIC_WEBHOOK_SECRETS" : `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new Error(`${flag}: ${issue?.message}`);
  }
  return parsed.data;
}
