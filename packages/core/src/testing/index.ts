export { waitFor, type WaitOptions } from "./wait-for.js";
export { startNats, startRedis, freePort, type TestServer } from "./servers.js";
export { startRedisSentinel, type RedisSentinelOptions, type RedisSentinelSet } from "./sentinel.js";
export {
  startReceiver,
  type Receiver,
  type ReceiverOptions,
  type ReceivedRequest,
  type ReceiverResponse,
} from "./receiver.js";
export { TEST_CA_PEM } from "./test-certificate.js";
export { startNatsCluster, type NatsCluster, type NatsClusterNode } from "./nats-cluster.js";
export { openSse, type SseEvent, type SseReader } from "./sse.js";
export { storedServer, type StoredServerOptions } from "./stored-server.js";
