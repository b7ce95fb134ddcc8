import type { IncomingMessage, ServerResponse } from "node:http";
import { expressAdapter, koaAdapter } from "./adapters.js";
import { answerNode } from "./http.js";
import { ReceiverCore, type ReceiverOptions, type ReceiverState } from "./receiver.js";

export type {
  ReceiverOptions,
  ReceiverState,
  ObjectEvent,
  ReceiverRequest,
  ReceiverResponse,
  Outcome,
} from "./receiver.js";
export type { ReceiverStore } from "./store.js";
export type { ExpressLikeRequest, KoaLikeContext } from "./adapters.js";
export type { CloudEvent, ObjectEventData, SnapshotCompletedData } from "./cloud-event.js";
export type { StateKeyParts } from "./state-key.js";
export { PING_TYPE, SNAPSHOT_COMPLETED_TYPE } from "./cloud-event.js";
export { memoryStore } from "./store.js";
export { fileStore, type FileStoreOptions } from "./file-store.js";
export { parseStateKey, stateKey } from "./state-key.js";
export { isNewer } from "./resource-version.js";
export { ReceiverError, SignatureError, InvalidEventError, BodyTooLargeError, StoreError } from "./errors.js";

export interface Receiver {
  /** node:http request handler: `http.createServer(receiver.handler)`. */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Koa middleware: `app.use(receiver.koa)` (or on a router path). */
  koa: ReturnType<typeof koaAdapter>;
  /** Express middleware: `app.post("/events", receiver.express)` (before any JSON body parser). */
  express: ReturnType<typeof expressAdapter>;
  /** Current objects, keyed `cluster/group/resource/namespace/name` (group "" for core, namespace "" when cluster-scoped). */
  state: ReceiverState;
  /** Resolves once the store's state is loaded (requests wait for it by themselves). */
  ready: Promise<void>;
  /** Stops timers and waits for the event being applied; the store keeps everything. */
  close(): Promise<void>;
}

export function createReceiver(options: ReceiverOptions): Receiver {
  const core = new ReceiverCore(options);
  const onError = options.onError ?? ((err: unknown) => console.error("@mcic/receiver: request failed", err));
  return {
    handler: (req, res) => void answerNode(core, req, res, onError),
    koa: koaAdapter(core),
    express: expressAdapter(core),
    state: core.engine.state,
    ready: core.ready,
    close: () => core.close(),
  };
}
