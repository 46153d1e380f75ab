// Brokers as the quorum sees them, without a data plane: they register and heartbeat through
// MetadataFetch as real brokers do, so tests can watch fencing, unfencing and metadata deltas.
import { setTimeout as sleep } from "node:timers/promises";
import type { BrokerStatus } from "../metadata/records.js";
import { assert } from "../shared/assert.js";
import { errorCodeOf, httpRequest, isRecord } from "./http.js";
import { MetadataWriter } from "./metadataClient.js";
import type { MetadataWriterOptions } from "./metadataClient.js";
import { waitFor } from "./waitFor.js";

export interface BrokerFleetOptions extends MetadataWriterOptions {
  readonly brokerIds: readonly number[];
  /** Each broker claims port `portBase + brokerId` on 127.0.0.1 (nothing listens there). */
  readonly portBase?: number;
}

/** What one broker last learned from the quorum. */
export interface BrokerView {
  readonly brokerId: number;
  readonly epoch: number;
  readonly status: BrokerStatus | undefined;
  /** The metadata offset its last answer brought it to: the `offset` of its next fetch. */
  readonly offset: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatsCount: number;
  /** The last heartbeat that got no 200, if the latest did not. */
  readonly lastFailure: string | undefined;
}

/** Until the first answer says otherwise. */
const heartbeatIntervalMsDefault = 200;
const heartbeatIntervalMsMax = 2_000;
const portBaseDefault = 19_000;

interface BrokerSlot {
  view: BrokerView;
  paused: boolean;
  preferredId: number | undefined;
  loop: Promise<void> | undefined;
}

/**
 * A set of brokers, each heartbeating on its own (POST /v1/broker-mgmt/metadata-fetch at the interval
 * the quorum tells it, with the epoch and offset of its last answer) from `start` until `stop`. A
 * heartbeat goes to the node that answered the last one first, then to the others; followers forward it.
 */
export class BrokerFleet {
  private readonly slots = new Map<number, BrokerSlot>();
  private readonly writer: MetadataWriter;
  private readonly stopping = new AbortController();
  private unregistered = false;

  private constructor(private readonly options: BrokerFleetOptions) {
    this.writer = new MetadataWriter(`brokers-${options.brokerIds.join("-")}`, options);
  }

  /** Registers every broker (POST /v1/brokers) and starts their heartbeats. */
  static async start(options: BrokerFleetOptions): Promise<BrokerFleet> {
    const fleet = new BrokerFleet(options);
    for (const brokerId of options.brokerIds) await fleet.register(brokerId);
    for (const slot of fleet.slots.values()) slot.loop = fleet.heartbeatLoop(slot);
    return fleet;
  }

  view(brokerId: number): BrokerView {
    return this.slot(brokerId).view;
  }

  /** Stops this broker's heartbeats (as a broker that hangs or loses its network). */
  pause(brokerId: number): void {
    this.slot(brokerId).paused = true;
  }

  resume(brokerId: number): void {
    this.slot(brokerId).paused = false;
  }

  /** Waits until, for each of the brokers, a heartbeat answered after this call reports `status`. */
  async waitForStatus(brokerIds: readonly number[], status: BrokerStatus, options: { readonly timeoutMs: number }): Promise<void> {
    const countsAtCall = new Map(brokerIds.map((id) => [id, this.view(id).heartbeatsCount]));
    const fresh = (id: number): boolean => this.view(id).heartbeatsCount > (countsAtCall.get(id) ?? 0);
    await waitFor(
      () => `brokers ${brokerIds.join(", ")} to be ${status}; last seen: ${brokerIds.map((id) => `${id} ${String(this.view(id).status)}${fresh(id) ? "" : " (no answer since)"} at epoch ${this.view(id).epoch}, ${this.view(id).lastFailure ?? "ok"}`).join("; ")}`,
      () => (brokerIds.every((id) => fresh(id) && this.view(id).status === status) ? true : undefined),
      { timeoutMs: options.timeoutMs, intervalMs: 20 },
    );
  }

  /**
   * Stops the heartbeats and unregisters every broker (DELETE /v1/brokers/{id}: CLOSED, so that later
   * placements on this cluster never pick them). A broker already CLOSED stays so; a second call does nothing.
   */
  async unregisterAll(): Promise<void> {
    await this.stop();
    if (this.unregistered) return;
    this.unregistered = true;
    for (const brokerId of this.slots.keys()) {
      const result = await this.writer.send({ method: "DELETE", path: `/v1/brokers/${brokerId}` });
      const closedAlready = result.outcome === "rejected" && errorCodeOf(result.body) === "INVALID_BROKER_STATUS";
      assert(result.outcome === "acknowledged" || closedAlready, `broker ${brokerId} unregisters: ${result.outcome} ${String(result.lastFailure)}`);
    }
  }

  /** Stops every heartbeat loop and waits for them. Safe to call twice. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all([...this.slots.values()].map((slot) => slot.loop));
  }

  private async register(brokerId: number): Promise<void> {
    const port = (this.options.portBase ?? portBaseDefault) + brokerId;
    const result = await this.writer.send({ method: "POST", path: "/v1/brokers", body: { brokerId, brokerHost: "127.0.0.1", brokerPort: port } });
    const body = result.body;
    assert(result.outcome === "acknowledged" && isRecord(body) && isRecord(body["broker"]), `broker ${brokerId} registers: ${result.outcome} ${String(result.lastFailure)} ${JSON.stringify(body)}`);
    const broker = body["broker"];
    assert(typeof broker["epoch"] === "number" && typeof broker["brokerStatus"] === "string", `a registered broker has an epoch and a status: ${JSON.stringify(broker)}`);
    const view: BrokerView = { brokerId, epoch: broker["epoch"], status: broker["brokerStatus"] as BrokerStatus, offset: 0, heartbeatIntervalMs: heartbeatIntervalMsDefault, heartbeatsCount: 0, lastFailure: undefined };
    this.slots.set(brokerId, { view, paused: false, preferredId: result.nodeId, loop: undefined });
  }

  private async heartbeatLoop(slot: BrokerSlot): Promise<void> {
    while (!this.stopping.signal.aborted) {
      if (!slot.paused) await this.heartbeat(slot);
      try {
        // Unreferenced: a test that forgets to stop its fleet still lets the process end.
        await sleep(slot.view.heartbeatIntervalMs, undefined, { signal: this.stopping.signal, ref: false });
      } catch {
        return; // Stopped.
      }
    }
  }

  /** One heartbeat, tried on each target in turn until one answers 200. */
  private async heartbeat(slot: BrokerSlot): Promise<void> {
    const targets = [...this.options.targets()];
    const order = slot.preferredId !== undefined && targets.includes(slot.preferredId) ? [slot.preferredId, ...targets.filter((id) => id !== slot.preferredId)] : targets;
    const { brokerId, epoch, offset } = slot.view;
    let lastFailure = "no target";
    for (const id of order) {
      const result = await httpRequest(`${this.options.apiUrl(id)}/v1/broker-mgmt/metadata-fetch`, { method: "POST", body: { brokerId, brokerEpoch: epoch, offset }, timeoutMs: this.options.requestTimeoutMs });
      if (result.kind === "response" && result.status === 200 && isRecord(result.body)) {
        slot.preferredId = id;
        slot.view = { ...readAnswer(slot.view, result.body), heartbeatsCount: slot.view.heartbeatsCount + 1, lastFailure: undefined };
        return;
      }
      lastFailure = `node ${id}: ${result.kind === "failure" ? result.message : `${result.status} ${errorCodeOf(result.body) ?? JSON.stringify(result.body)}`}`;
      if (this.stopping.signal.aborted) break;
    }
    slot.view = { ...slot.view, lastFailure };
  }

  private slot(brokerId: number): BrokerSlot {
    const slot = this.slots.get(brokerId);
    assert(slot !== undefined, `broker ${brokerId} is not in this fleet`);
    return slot;
  }
}

function readAnswer(view: BrokerView, body: Record<string, unknown>): BrokerView {
  const { brokerEpoch, brokerStatus, currentOffset, heartbeatIntervalMs } = body;
  assert(typeof brokerEpoch === "number" && typeof brokerStatus === "string" && typeof currentOffset === "number" && typeof heartbeatIntervalMs === "number", `a metadata-fetch answer has brokerEpoch, brokerStatus, currentOffset and heartbeatIntervalMs: ${JSON.stringify(body)}`);
  return {
    ...view,
    epoch: brokerEpoch,
    status: brokerStatus as BrokerStatus,
    // A node behind the one that answered before may bring it back a little: never go back.
    offset: Math.max(view.offset, currentOffset),
    heartbeatIntervalMs: Math.min(heartbeatIntervalMsMax, Math.max(1, heartbeatIntervalMs)),
  };
}

/** Runs `body` with a started fleet and always stops its heartbeats, also when `body` fails. */
export async function withBrokerFleet<T>(options: BrokerFleetOptions, body: (fleet: BrokerFleet) => Promise<T>): Promise<T> {
  const fleet = await BrokerFleet.start(options);
  try {
    return await body(fleet);
  } finally {
    await fleet.stop();
  }
}
