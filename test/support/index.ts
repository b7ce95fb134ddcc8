export {
  scrapeMetric,
  startService,
  startStack,
  newSecretKey,
  type ServiceProcess,
  type Stack,
  type StackOptions,
} from "./stack.js";
export { EventPublisher, ingressEnvelope } from "./events.js";
export { caDataOf, selfSignedCert, type TestCertificate } from "./tls.js";
export { MCIC_BIN, runCli, startCli, type CliProcess, type CliResult } from "./cli.js";
export { CHROMIUM, launchChromium } from "./browser.js";
