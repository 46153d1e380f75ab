// The HTTP/1.1 client of the comparison benches, the same for YAKt and etcd's JSON gateway so that the
// load generator costs the same per request: Node's `http` module, a keep-alive Agent with one socket
// per outstanding request, the body read as text and checked, never parsed.
import { Agent, request } from "node:http";

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** One keep-alive connection pool to one server. Close it when done. */
export class KeepAliveClient {
  private readonly agent: Agent;

  /** `socketsCount`: at most this many connections, so one per outstanding request of a closed loop. */
  constructor(
    private readonly baseUrl: string,
    socketsCount: number,
    private readonly requestTimeoutMs: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: socketsCount, maxFreeSockets: socketsCount });
  }

  /** Sends one request; rejects on a network failure or when it takes over `requestTimeoutMs`. */
  send(method: "GET" | "POST" | "PATCH", path: string, jsonBody?: string): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = {};
      if (jsonBody !== undefined) {
        headers["content-type"] = "application/json";
        headers["content-length"] = Buffer.byteLength(jsonBody);
      }
      const req = request(`${this.baseUrl}${path}`, { method, agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      });
      req.setTimeout(this.requestTimeoutMs, () => req.destroy(new Error(`${method} ${path} took over ${this.requestTimeoutMs} ms`)));
      req.on("error", reject);
      req.end(jsonBody);
    });
  }

  /** Sends one request and rejects unless the answer has status `expectedStatus`. */
  async expect(expectedStatus: number, method: "GET" | "POST" | "PATCH", path: string, jsonBody?: string): Promise<string> {
    const answer = await this.send(method, path, jsonBody);
    if (answer.status !== expectedStatus) throw new Error(`${method} ${path} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
    return answer.body;
  }

  close(): void {
    this.agent.destroy();
  }
}
