import type { JsMsg } from "@nats-io/jetstream";

/**
 * Acks (and naks) handed to the NATS client together, once per event-loop turn. The client
 * writes whatever it has queued in one socket write per microtask checkpoint; handlers finish
 * in separate I/O callbacks, so acking each at once cost one write (a loopback syscall that also
 * runs nats-server's receive path) per message, the largest single item of the dispatcher's CPU
 * profile. Deferring an ack by one turn keeps at-least-once: a crash before it only redelivers.
 */
export class AckBatch {
  #pending: { msg: JsMsg; redeliverInMs: number | undefined }[] = [];
  #scheduled: NodeJS.Immediate | undefined;

  ack(msg: JsMsg): void {
    this.#add(msg, undefined);
  }

  /** Asks for redelivery after `redeliverInMs`. */
  nak(msg: JsMsg, redeliverInMs: number): void {
    this.#add(msg, redeliverInMs);
  }

  #add(msg: JsMsg, redeliverInMs: number | undefined): void {
    this.#pending.push({ msg, redeliverInMs });
    this.#scheduled ??= setImmediate(() => this.flush());
  }

  /** Hands every pending ack to the client now (it writes them on its next microtask). */
  flush(): void {
    clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const batch = this.#pending;
    this.#pending = [];
    for (const { msg, redeliverInMs } of batch) {
      if (redeliverInMs === undefined) msg.ack();
      else msg.nak(redeliverInMs);
    }
  }
}
