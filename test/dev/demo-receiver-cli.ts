#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startDemoReceiver } from "./demo-receiver.js";

/**
 * The compose demo's receiver: listens on PORT, registers itself as server SERVER_NAME (default
 * demo-receiver) at RECEIVER_URL through the API at API_URL, replacing an earlier registration so
 * that it holds the signing secret, and prints each event with its signature checked. The API token
 * is the first of API_TOKENS, else the one the compose init service wrote (MCIC_INIT_DIR).
 */
async function main(): Promise<void> {
  const env = process.env;
  const need = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} is required`);
    return value;
  };
  const apiUrl = need("API_URL");
  const receiverUrl = new URL(need("RECEIVER_URL"));
  const name = env.SERVER_NAME || "demo-receiver";
  const tokens = env.API_TOKENS || readFileSync(join(env.MCIC_INIT_DIR || "/mcic-init", "api-token"), "utf8");
  const headers = { "content-type": "application/json", authorization: `Bearer ${tokens.split(",")[0]?.trim()}` };

  const receiver = await startDemoReceiver({
    port: Number(need("PORT")),
    host: env.HOST || "0.0.0.0",
    write: (line) => console.log(`[demo-receiver] ${line}`),
  });
  console.log(`[demo-receiver] listening on ${receiver.port}`);
  const url = `${apiUrl}/api/v1/servers/${encodeURIComponent(name)}`;
  const removed = await fetch(url, { method: "DELETE", headers });
  if (removed.status !== 204 && removed.status !== 404) throw new Error(`DELETE ${url}: ${removed.status}`);
  const res = await fetch(`${apiUrl}/api/v1/servers`, {
    method: "POST",
    headers,
    body: JSON.stringify({ name, url: receiverUrl.href }),
  });
  const body = (await res.json()) as { secret?: string };
  if (res.status !== 201 || !body.secret) throw new Error(`registering ${name}: ${res.status} ${JSON.stringify(body)}`);
  receiver.trust(receiverUrl.pathname, body.secret);
  console.log(
    `[demo-receiver] registered as server ${name}; checking signatures of what arrives at ${receiverUrl.pathname}`,
  );
  const stop = () => void receiver.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  console.error(`[demo-receiver] ${(err as Error).message}`);
  process.exit(1);
});
