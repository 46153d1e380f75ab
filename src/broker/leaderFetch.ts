import { Agent, request as httpRequest } from "node:http";
import type { AgentOptions } from "node:http";
import { limits } from "../shared/limits.js";
import { batchesContentType, batchesHeaderBytes, decodeBatchesAnswer } from "./binaryProtocol.js";
import { BrokerError } from "./brokerError.js";
import type { ReplicaFetchOutcome } from "./partitionReplica.js";
import type { BrokerErrorCode, ReplicaFetchAnswerJson, ReplicaFetchRequest } from "./protocol.js";

/** A fetch that gets no answer within its long-poll plus this is abandoned and sent again. */
const replicaFetchSlackMs = 5_000;
/** Bytes of one answer: the most a leader answers (a read of up to `maxBytes`, plus one batch) and the header. */
const answerBytesMax = limits.broker.replicatedAppendBytesMax + batchesHeaderBytes;

/**
 * A follower's fetches from partition leaders over HTTP/1.1 (`POST /v1/replica/fetch`), asking for the
 * binary answer (binaryProtocol.ts): the leader's stored frames arrive as bytes and go to the log as they
 * are, with no JSON or base64 in between. Connections are kept alive, one per partition being fetched,
 * without Nagle's delay. Coded error answers (JSON) become BrokerErrors; a JSON answer to the fetch itself
 * (a leader that does not speak the binary form) is read too.
 */
export class LeaderFetcher {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256, noDelay: true } as AgentOptions);

  fetch(leaderUrl: string, request: ReplicaFetchRequest, signal: AbortSignal): Promise<ReplicaFetchOutcome> {
    const body = JSON.stringify(request);
    const timeoutMs = (request.maxWaitMs ?? 0) + replicaFetchSlackMs;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (run: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        run();
      };
      const fail = (message: string): void => settle(() => reject(new Error(message)));
      const outgoing = httpRequest(
        `${leaderUrl}/v1/replica/fetch`,
        { method: "POST", agent: this.agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), accept: batchesContentType } },
        (incoming) => {
          const chunks: Buffer[] = [];
          let sizeBytes = 0;
          incoming.on("data", (chunk: Buffer) => {
            sizeBytes += chunk.length;
            if (sizeBytes > answerBytesMax) {
              incoming.destroy();
              fail(`the leader's answer is larger than ${answerBytesMax} bytes`);
              return;
            }
            chunks.push(chunk);
          });
          incoming.on("error", (error) => fail(`the leader's answer failed: ${error.message}`));
          incoming.on("close", () => {
            if (!incoming.complete) fail("the leader closed the connection before the whole answer");
          });
          incoming.on("end", () => {
            const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, sizeBytes);
            const contentType = incoming.headers["content-type"] ?? "";
            settle(() => {
              try {
                resolve(readAnswer(incoming.statusCode ?? 0, contentType, bytes));
              } catch (error) {
                reject(error);
              }
            });
          });
        },
      );
      const timer = setTimeout(() => {
        fail(`the leader did not answer within ${timeoutMs} ms`);
        outgoing.destroy();
      }, timeoutMs);
      const onAbort = (): void => {
        fail("the fetch was aborted");
        outgoing.destroy();
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
      outgoing.on("error", (error) => fail(`cannot reach the leader: ${error.message}`));
      outgoing.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The outcome one answer stands for; throws a BrokerError for a coded error or an answer that cannot be read. */
export function readAnswer(status: number, contentType: string, bytes: Buffer): ReplicaFetchOutcome {
  const binary = contentType.split(";")[0]?.trim().toLowerCase() === batchesContentType;
  if (status === 200 && binary) {
    const decoded = decodeBatchesAnswer(bytes);
    if (!decoded.ok) throw new BrokerError("INTERNAL", `Cannot read the leader's binary fetch answer as ${decoded.reason}`);
    const { highWatermark, logStartOffset, divergingEpoch, frames } = decoded.value;
    if (divergingEpoch !== undefined) return { kind: "diverging", ...divergingEpoch, highWatermark, logStartOffset };
    return { kind: "batches", bytes: frames, highWatermark, logStartOffset };
  }
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new BrokerError("INTERNAL", `Cannot read the leader's answer (status ${status}) as it is neither JSON nor the binary form`);
  }
  if (status === 200) return jsonOutcome(body as ReplicaFetchAnswerJson);
  const coded = (typeof body === "object" && body !== null ? body : {}) as { code?: unknown; message?: unknown };
  const code = typeof coded.code === "string" ? (coded.code as BrokerErrorCode) : "INTERNAL";
  throw new BrokerError(code, typeof coded.message === "string" ? coded.message : `leader answered ${status}`);
}

function jsonOutcome(answer: ReplicaFetchAnswerJson): ReplicaFetchOutcome {
  if (answer.divergingEpoch !== undefined) {
    return { kind: "diverging", ...answer.divergingEpoch, highWatermark: answer.highWatermark, logStartOffset: answer.logStartOffset };
  }
  const bytes = Buffer.from(answer.batches, "base64");
  return { kind: "batches", bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), highWatermark: answer.highWatermark, logStartOffset: answer.logStartOffset };
}
