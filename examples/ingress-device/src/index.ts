export { renderNginxConfig, type RenderOptions, type RenderResult, type Skipped } from "./render.js";
export { startDevice, type Device, type DeviceOptions } from "./device.js";
export { checkConfig, findNginx, reloadNginx, type CheckResult } from "./nginx.js";
export { writeAtomic } from "./write-atomic.js";
export { parseOptions, USAGE } from "./options.js";
