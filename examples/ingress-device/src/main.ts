#!/usr/bin/env node
import { startDevice } from "./device.js";
import { findNginx } from "./nginx.js";
import { parseOptions, USAGE } from "./options.js";

const log = (msg: string, fields: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), msg, ...fields }));

let options: ReturnType<typeof parseOptions>;
try {
  options = parseOptions(process.argv.slice(2), process.env);
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
const nginx = options.check || options.reload ? await findNginx() : undefined;
if (options.reload && !nginx) {
  console.error("--reload: nginx is not installed (not on PATH nor in /usr/sbin)");
  process.exit(2);
}
if (options.check && !nginx) log("nginx not found: configurations are written without nginx -t");
const device = await startDevice({ ...options, nginx, log });
log("listening", { url: device.url, out: options.out, nginxCheck: Boolean(nginx), reload: options.reload });

const stop = async () => {
  await device.close();
  log("stopped");
  process.exit(0);
};
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
