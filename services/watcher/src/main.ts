import { runService } from "@mcic/core";
import { loadWatcherConfig } from "./config.js";
import { createWatcher } from "./watcher.js";

runService({
  name: "watcher",
  loadConfig: loadWatcherConfig,
  logContext: (config) => ({ watcherId: config.WATCHER_ID }),
  connectionName: (config) => `watcher-${config.WATCHER_ID}`,
  streams: ["events", "deliveries"],
  subscriber: true,
  create: createWatcher,
});
