// Concurrent clients of the metadata API that use each broker's registration as a register: a write is
// `PATCH /v1/brokers/{id}` with a new `brokerPort` (unique per key, so a read names the write it saw), a
// read is a linearizable `GET /v1/brokers/{id}`. Every operation is recorded with its invoke and
// completion times and its outcome, for the linearizability check.
import { setTimeout as sleep } from "node:timers/promises";
import { httpRequest } from "../e2e/http.js";
import { assert } from "../shared/assert.js";
import { createPrng } from "../shared/prng.js";
import type { Prng } from "../shared/prng.js";
import { classifyRead, classifyWrite, combineAttempts } from "./outcomes.js";
import type { Outcome } from "./outcomes.js";

export type RegisterInput = { readonly kind: "write"; readonly key: string; readonly value: string } | { readonly kind: "read"; readonly key: string };
/** A read's output is `{ value }` (null: no such register); a write's output is `{}`. */
export interface RegisterOutput {
  readonly value?: string | null;
}

/** One operation as recorded; the shape the checker's `Operation<RegisterInput, RegisterOutput>` takes. */
export interface RegisterOperation {
  readonly clientId: number;
  readonly input: RegisterInput;
  /** Milliseconds on the monotonic clock (performance.now()). */
  readonly invokeMs: number;
  readonly outcome: Outcome;
  /** Present when `ok`. */
  readonly output?: RegisterOutput;
  /** Present when `ok` or `fail`; an unknown operation may take effect at any time after its invocation. */
  readonly completeMs?: number;
  /** Not part of the check: which nodes were asked and why attempts failed, for reading a failure. */
  readonly note?: string;
}

/** A broker id per key: the register named `b<brokerId>`. */
export function keyOf(brokerId: number): string {
  return `b${brokerId}`;
}

/** The port the registration writes first (also the value the first read of a key sees). */
export const initialPort = 1;
/** Ports are 1–65535; once a key has used them all it is only read. */
const portMax = 65_535;

export interface ClientTimings {
  /** One HTTP attempt: long enough for a write forwarded to a slow leader, short enough to move on from a paused node. */
  readonly requestTimeoutMs: number;
  /** A write is retried (same Idempotency-Key) until this long after its first attempt. */
  readonly writeTimeoutMs: number;
  /** Attempts of one write at most. */
  readonly writeAttemptsMax: number;
  /** Pause between two attempts of a write. */
  readonly retryPauseMs: number;
  /** A client waits up to this (uniformly drawn) between two operations, so that clients interleave. */
  readonly thinkMsMax: number;
}

export const clientTimingsDefault: ClientTimings = {
  requestTimeoutMs: 2_000,
  writeTimeoutMs: 6_000,
  writeAttemptsMax: 4,
  retryPauseMs: 100,
  thinkMsMax: 20,
};

export interface WorkloadOptions {
  readonly clientsCount: number;
  /** Broker ids used as registers, registered before the clients start. */
  readonly brokerIds: readonly number[];
  /** Node ids and their API URLs: any node takes any request. */
  readonly nodeIds: readonly number[];
  readonly apiUrl: (id: number) => string;
  readonly seed: number;
  readonly timings?: Partial<ClientTimings>;
}

/**
 * The clients of one run. `registerAll()` first (no faults yet), then `start()`; `stop()` lets every
 * client finish its operation in hand and returns the history. Writes of one client carry
 * `Idempotency-Key: chaos<clientId>:<n>`, the same on every attempt, so a retried write is applied at
 * most once and is one operation in the history.
 */
export class RegisterWorkload {
  readonly operations: RegisterOperation[] = [];
  private readonly timings: ClientTimings;
  private readonly nextPort = new Map<string, number>();
  private stopping = false;
  private running: Promise<void> | undefined;

  constructor(private readonly options: WorkloadOptions) {
    assert(options.clientsCount >= 1 && options.brokerIds.length >= 1 && options.nodeIds.length >= 1, "a workload needs clients, keys and nodes");
    this.timings = { ...clientTimingsDefault, ...options.timings };
  }

  /**
   * Registers every broker (the first write of each register, value `initialPort`), through any node,
   * retrying until acknowledged or `timeoutMs`. Recorded in the history as writes of client `clientId`
   * (one apart from the workload's own) so the check knows each register's first value.
   */
  async registerAll(clientId: number, timeoutMs: number): Promise<void> {
    const startMs = performance.now();
    for (const brokerId of this.options.brokerIds) {
      const key = keyOf(brokerId);
      const invokeMs = performance.now();
      const body = { brokerId, brokerHost: "127.0.0.1", brokerPort: initialPort };
      let acknowledged = false;
      for (let attempt = 0; !acknowledged && performance.now() - startMs < timeoutMs; attempt++) {
        const nodeId = this.options.nodeIds[attempt % this.options.nodeIds.length] ?? 1;
        const result = await httpRequest(`${this.options.apiUrl(nodeId)}/v1/brokers`, { method: "POST", body, headers: { "idempotency-key": `chaos-register-${brokerId}` }, timeoutMs: this.timings.requestTimeoutMs });
        acknowledged = classifyWrite(result) === "ok";
        if (!acknowledged) await sleep(this.timings.retryPauseMs);
      }
      if (!acknowledged) throw new Error(`Cannot register broker ${brokerId} within ${timeoutMs} ms`);
      this.operations.push({ clientId, input: { kind: "write", key, value: String(initialPort) }, invokeMs, outcome: "ok", output: {}, completeMs: performance.now() });
      this.nextPort.set(key, initialPort + 1);
    }
  }

  start(): void {
    assert(this.running === undefined, "a workload starts once");
    this.running = Promise.all(Array.from({ length: this.options.clientsCount }, (_, clientId) => this.runClient(clientId))).then(() => {});
  }

  async stop(): Promise<readonly RegisterOperation[]> {
    this.stopping = true;
    await this.running;
    return this.operations;
  }

  /** Operations of each outcome so far, writes and reads apart (for progress lines). */
  counts(): { readonly writes: Record<Outcome, number>; readonly reads: Record<Outcome, number> } {
    const writes: Record<Outcome, number> = { ok: 0, fail: 0, unknown: 0 };
    const reads: Record<Outcome, number> = { ok: 0, fail: 0, unknown: 0 };
    for (const op of this.operations) (op.input.kind === "write" ? writes : reads)[op.outcome]++;
    return { writes, reads };
  }

  /**
   * A linearizable read of every key through node `nodeId`, retried until it answers or `timeoutMs`;
   * recorded as client `clientId`. The final reads after healing make a lost acknowledged write visible.
   */
  async finalRead(clientId: number, nodeId: number, brokerId: number, timeoutMs: number): Promise<RegisterOperation> {
    const deadlineMs = performance.now() + timeoutMs;
    let reason = "no attempt";
    for (let attempt = 0; performance.now() < deadlineMs && attempt < Math.ceil(timeoutMs / this.timings.retryPauseMs); attempt++) {
      const op = await this.read(clientId, nodeId, keyOf(brokerId), brokerId);
      if (op.outcome === "ok") {
        this.operations.push(op);
        return op;
      }
      reason = op.note ?? reason;
      await sleep(this.timings.retryPauseMs);
    }
    throw new Error(`Cannot read broker ${brokerId} on node ${nodeId} within ${timeoutMs} ms: ${reason}`);
  }

  private async runClient(clientId: number): Promise<void> {
    // One generator per client, from the run's seed: which key, which node, read or write.
    const prng = createPrng((this.options.seed ^ Math.imul(clientId + 1, 0x9e3779b9)) >>> 0);
    for (let n = 1; !this.stopping; n++) {
      const brokerId = prng.pick(this.options.brokerIds);
      const key = keyOf(brokerId);
      const port = this.nextPort.get(key) ?? initialPort + 1;
      const op = prng.chance(0.5) && port <= portMax ? await this.write(clientId, n, prng, key, brokerId) : await this.read(clientId, prng.pick(this.options.nodeIds), key, brokerId);
      this.operations.push(op);
      await sleep(prng.int(this.timings.thinkMsMax + 1));
    }
  }

  private async write(clientId: number, n: number, prng: Prng, key: string, brokerId: number): Promise<RegisterOperation> {
    const port = this.nextPort.get(key) ?? initialPort + 1;
    this.nextPort.set(key, port + 1);
    const input: RegisterInput = { kind: "write", key, value: String(port) };
    const headers = { "idempotency-key": `chaos${clientId}:${n}` };
    const invokeMs = performance.now();
    const deadlineMs = invokeMs + this.timings.writeTimeoutMs;
    const outcomes: Outcome[] = [];
    const notes: string[] = [];
    // Half the writes make one attempt, so unknown outcomes (which may take effect much later) stay in the
    // history; the others retry with the same key, exercising exactly-once retries across leader changes.
    const attemptsMax = prng.chance(0.5) ? 1 : this.timings.writeAttemptsMax;
    for (let attempt = 0; attempt < attemptsMax; attempt++) {
      const nodeId = prng.pick(this.options.nodeIds);
      const result = await httpRequest(`${this.options.apiUrl(nodeId)}/v1/brokers/${brokerId}`, { method: "PATCH", body: { brokerPort: port }, headers, timeoutMs: this.timings.requestTimeoutMs });
      const outcome = classifyWrite(result);
      outcomes.push(outcome);
      notes.push(`node ${nodeId}: ${result.kind === "failure" ? result.failure : `${result.status}${outcome === "ok" ? "" : ` ${JSON.stringify(result.body).slice(0, 120)}`}`}`);
      // A write refused by validation (4xx without a retriable code) is refused again on retry.
      if (outcome === "ok" || (result.kind === "response" && result.status >= 400 && result.status < 500 && ![421, 429].includes(result.status))) break;
      if (performance.now() + this.timings.retryPauseMs >= deadlineMs || this.stopping) break;
      await sleep(this.timings.retryPauseMs);
    }
    const outcome = combineAttempts(outcomes);
    const note = notes.join("; ");
    switch (outcome) {
      case "ok":
        return { clientId, input, invokeMs, outcome, output: {}, completeMs: performance.now(), note };
      case "fail":
        return { clientId, input, invokeMs, outcome, completeMs: performance.now(), note };
      case "unknown":
        return { clientId, input, invokeMs, outcome, note };
    }
  }

  private async read(clientId: number, nodeId: number, key: string, brokerId: number): Promise<RegisterOperation> {
    const input: RegisterInput = { kind: "read", key };
    const invokeMs = performance.now();
    const result = classifyRead(await httpRequest(`${this.options.apiUrl(nodeId)}/v1/brokers/${brokerId}`, { timeoutMs: this.timings.requestTimeoutMs }));
    const completeMs = performance.now();
    if (result.outcome === "ok") return { clientId, input, invokeMs, outcome: "ok", output: { value: result.value }, completeMs, note: `node ${nodeId}` };
    return { clientId, input, invokeMs, outcome: "fail", completeMs, note: `node ${nodeId}: ${result.reason}` };
  }
}
