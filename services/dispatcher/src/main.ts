import { runService } from "@mcic/core";
import { loadDispatcherConfig } from "./config.js";
import { createDispatcher } from "./dispatcher.js";

runService({
  name: "dispatcher",
  loadConfig: loadDispatcherConfig,
  streams: ["events", "deliveries"],
  subscriber: true,
  create: createDispatcher,
});
