import { runService } from "@mcic/core";
import { createApiService } from "./api-service.js";
import { loadApiConfig } from "./config.js";

runService({
  name: "api",
  loadConfig: loadApiConfig,
  streams: ["deliveries"],
  subscriber: false,
  create: createApiService,
});
