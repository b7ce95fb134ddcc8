export * from "./errors.js";
export { fieldErrors } from "./zod-issues.js";
export { baseEnvSchema, envSchemas, parseEnv, parseDuration, redactConfig } from "./config.js";
export { createLogger, REDACT_PATHS, type Logger, type LoggerOptions } from "./logger.js";
export { parseResource, formatResource, apiPrefix, type ResourceRef } from "./resource.js";
export {
  EnvelopeSchema,
  EVENT_TYPES,
  envelopeId,
  eventSubject,
  eventsStreamName,
  eventsSubjectWildcard,
  groupToken,
  type Envelope,
  type EventType,
} from "./envelope.js";
export { redisKeys, type RedisKeys } from "./keys.js";
export {
  parseLabelSelector,
  matchesLabels,
  type LabelSelector,
  type Requirement,
} from "./label-selector.js";
export { SecretBox } from "./secret-box.js";
export {
  generateWebhookSecret,
  isWebhookSecret,
  webhookKey,
  signWebhook,
  toCloudEvent,
  SECRET_PREFIX,
  type CloudEvent,
} from "./webhook.js";
