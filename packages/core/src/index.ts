export * from "./errors.js";
export { fieldErrors } from "./zod-issues.js";
export { baseEnvSchema, envSchemas, parseEnv, parseDuration, redactConfig } from "./config.js";
export { createLogger, REDACT_PATHS, type Logger, type LoggerOptions } from "./logger.js";
export { parseResource, formatResource, apiPrefix, type ResourceRef } from "./resource.js";
export type { KubeObject } from "./kube-object.js";
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
export { SecretBox, sealContext } from "./secret-box.js";
export {
  REDACTED,
  LAST_APPLIED_ANNOTATION,
  SealedSecretValuesError,
  isSecretEnvelope,
  redactEnvelope,
  sealSecretValues,
  openSecretValues,
} from "./secret-values.js";
export {
  generateWebhookSecret,
  isWebhookSecret,
  webhookKey,
  signWebhook,
  toCloudEvent,
  SECRET_PREFIX,
  type CloudEvent,
} from "./webhook.js";
export { type PayloadShape, payloadShapeKey, shapeEnvelope } from "./payload-shape.js";
export {
  SNAPSHOT_COMPLETED_TYPE,
  SnapshotCompletedDataSchema,
  snapshotCompletedEnvelope,
  snapshotCompletedEvent,
  snapshotCompletedId,
  type SnapshotCompletedData,
} from "./snapshot-completed.js";
export {
  SNAPSHOT_STATES,
  SnapshotClusterOutcomeSchema,
  SnapshotStatusSchema,
  SnapshotStatusStore,
  parseSnapshotStatus,
  type SnapshotClusterOutcome,
  type SnapshotState,
  type SnapshotStatus,
} from "./snapshot-status.js";
export { parseKubeconfig } from "./kubeconfig.js";
export { parseBoundedYaml, YamlLimitError, DEFAULT_YAML_LIMITS, type YamlLimits } from "./bounded-yaml.js";
export { checkCertificatesPem, decodeBase64Strict, CertificateError } from "./pem-certificates.js";
export {
  EgressPolicy,
  EgressDeniedError,
  DEFAULT_EGRESS_DENY,
  defaultEgressPolicy,
  isEgressDenied,
  parseCidrList,
  type EgressVerdict,
} from "./egress-policy.js";
export { failureClass, type FailureClass } from "./failure-class.js";
export {
  DNS_LABEL,
  dnsLabel,
  ClusterInputSchema,
  ConnectionSchema,
  StoredClusterSchema,
  ServerFiltersSchema,
  ServerInputSchema,
  StoredServerSchema,
  ResourceStatusSchema,
  RateLimitSchema,
  DEFAULT_DISABLE_AFTER_SECONDS,
  UNTRACKED_METADATA,
  type RateLimit,
  type ClusterInput,
  type Connection,
  type StoredCluster,
  type ServerFilters,
  type ServerInput,
  type StoredServer,
  type ResourceStatus,
} from "./models.js";
export {
  ChangeNoticeSchema,
  encodeChangeNotice,
  publishChangeNotice,
  parseChangeNotice,
  followChanges,
  coalesced,
  type ChangeNotice,
} from "./change-notice.js";
export { Registry } from "./registry.js";
export { TimeSlicer } from "./time-slicer.js";
export { DISPATCHER_HEARTBEAT_TTL_MS, DispatcherPresence } from "./dispatcher-presence.js";
export type { ListedEntries } from "./registry-codec.js";
export {
  SERVER_STATUS_FIELDS,
  DISABLED_BY_CONFIGURATION,
  ENABLE_CLEARS,
  ServerStatusHashSchema,
  parseServerStatus,
  isActive,
  inactiveReason,
  type ServerStatus,
  type ServerStatusField,
} from "./server-status.js";
export { openServer, openServerHeaders, SealedServerError } from "./open-server.js";
export {
  allowsResource,
  compileFilters,
  eventResourceKeys,
  pinnedKeys,
  type EnvelopeMatcher,
  type FilterOptions,
  type PinnedKeys,
} from "./server-filter.js";
export {
  CEL_COST_LIMIT,
  type CompiledExpression,
  ExpressionError,
  ExpressionEvaluationError,
  compileExpression,
  expressionProblem,
} from "./cel-expression.js";
export { compileNameGlobs } from "./name-glob.js";
export {
  PING_EVENT_TYPE,
  SNAPSHOT_COMPLETED_EVENT_TYPE,
  eventCatalog,
  resourceEventType,
  type EventTypeEntry,
} from "./event-types.js";
export {
  connectNats,
  ensureEventsStream,
  ensureDeliveriesStream,
  DUPLICATE_WINDOW_MS,
  natsServers,
  type NatsConnection,
  type StreamOptions,
} from "./nats.js";
export { isJetStreamUnavailable, retryWhileUnavailable, type JetStreamRetryOptions } from "./jetstream-retry.js";
export { connectRedis, isRedisUnavailable, redisReady, Redis } from "./redis.js";
export { parseRedisUrl, RedisTarget, type RedisEndpoint } from "./redis-url.js";
export { stopOnSignals, exitOnStartupError } from "./lifecycle.js";
export { runService, type RunnableService, type ServiceBaseConfig, type ServiceDefinition } from "./service-runner.js";
export {
  startOpsServer,
  createMetricsRegistry,
  MetricsRegistry,
  Counter,
  Gauge,
  Histogram,
  type OpsServer,
  type OpsServerOptions,
} from "./ops-server.js";
export {
  DeliveryRequestSchema,
  DeliveryRecordSchema,
  DeadLetterSchema,
  SnapshotRequestSchema,
  SnapshotReplySchema,
  DELIVERY_OUTCOMES,
  DELIVERY_LOG_LIMIT,
  DEAD_LETTER_LIMIT,
  deliveriesStreamName,
  deliverySubject,
  deliveriesSubjectWildcard,
  snapshotRequestSubject,
  type DeliveryRequest,
  type DeliveryRecord,
  type DeliveryOutcome,
  type DeadLetter,
  type SnapshotRequest,
  type SnapshotReply,
} from "./delivery.js";
export {
  WebhookSender,
  parseRetryAfter,
  signingKeys,
  type AttemptResult,
  type SenderOptions,
  type WebhookTarget,
  type SerializedEvent,
} from "./webhook-sender.js";
export {
  RATE_BUCKET_SECONDS,
  RATE_BUCKET_TTL_SECONDS,
  RATE_WINDOW_SECONDS,
  rateBucket,
  readDeliveryRates,
  type DeliveryRate,
  type RateOutcome,
} from "./delivery-rate.js";
export { connectBackends, type BackendOptions, type Backends } from "./backends.js";
export { Semaphore } from "./semaphore.js";
export {
  StreamPublisher,
  StreamPublishError,
  type StreamAck,
  type StreamPublisherOptions,
  type ResendReason,
} from "./stream-publisher.js";
