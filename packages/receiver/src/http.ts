import type { IncomingMessage, ServerResponse } from "node:http";
import { BodyTooLargeError } from "./errors.js";
import type { ReceiverCore, ReceiverResponse } from "./receiver.js";

/** Reads a request body up to `limit` bytes; over that it stops reading and rejects. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLargeError(limit));
      req.resume();
      return;
    }
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
  });
}

export function send(res: ServerResponse, answer: ReceiverResponse): void {
  res.writeHead(answer.status, answer.headers).end(answer.body);
}

const internalError: ReceiverResponse = {
  status: 500,
  headers: { "content-type": "application/problem+json" },
  body: JSON.stringify({ type: "urn:mcic:receiver:internal", title: "internal error", status: 500 }),
};

/** Reads the raw body (the signature covers its exact bytes), handles it, answers. */
export async function answerNode(
  core: ReceiverCore,
  req: IncomingMessage,
  res: ServerResponse,
  onError: (err: unknown) => void,
): Promise<void> {
  try {
    const body = await readBody(req, core.maxBodyBytes);
    send(res, await core.handle({ method: req.method, headers: req.headers, body }));
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      send(res, tooLarge(err));
      return;
    }
    onError(err);
    if (!res.headersSent) send(res, internalError);
  }
}

function tooLarge(err: BodyTooLargeError): ReceiverResponse {
  return {
    status: 413,
    headers: { "content-type": "application/problem+json", connection: "close" },
    body: JSON.stringify({
      type: "urn:mcic:receiver:body_too_large",
      title: "body too large",
      status: 413,
      detail: err.message,
    }),
  };
}
