import type { Message, NodeId } from "../raft/types.js";
import { assert } from "../shared/assert.js";
import { limits } from "../shared/limits.js";
import { decodeMessage, encodeMessage } from "./codec.js";
import { countDrop, emptyCounters, type MutableCounters, type Transport, type TransportCounters, type TransportHandlers } from "./transport.js";

export interface MemoryNetworkOptions {
  /**
   * "microtask": deliveries run on their own, soon after `send()` (like a fast network).
   * "manual": nothing moves until `pump()`, so a test decides exactly when messages arrive.
   */
  readonly delivery?: "microtask" | "manual";
  /** Undelivered messages per destination; beyond it new ones are dropped (a bounded wire, like TCP's). */
  readonly pendingCountMax?: number;
}

type Delivery =
  | { readonly kind: "message"; readonly from: MemoryTransport; readonly to: NodeId; readonly bytes: Uint8Array }
  | { readonly kind: "connected" | "disconnected"; readonly to: NodeId; readonly peer: NodeId; readonly epoch: number };

/**
 * The in-memory twin of the TCP transport, for tests of the layers above it. Messages go through the real
 * codec (so nobody shares an object with another node, and the codec is exercised), arrive in send order
 * per sender, and are lost when their destination is stopped. Starting and stopping transports fires the
 * same connected/disconnected callbacks as TCP does.
 */
export class MemoryNetwork {
  private readonly transports = new Map<NodeId, MemoryTransport>();
  private readonly queue: Delivery[] = [];
  private readonly pendingCount = new Map<NodeId, number>();
  private readonly manual: boolean;
  private readonly pendingCountMax: number;

  constructor(options: MemoryNetworkOptions = {}) {
    this.manual = options.delivery === "manual";
    this.pendingCountMax = options.pendingCountMax ?? limits.transport.sendQueueCountMax;
  }

  /** A transport for node `selfId`; every other node of this network is its peer. */
  createTransport(selfId: NodeId, handlers: TransportHandlers): MemoryTransport {
    assert(!this.transports.has(selfId), `Node ${selfId} already has a transport on this network`);
    const transport = new MemoryTransport(this, selfId, handlers);
    this.transports.set(selfId, transport);
    return transport;
  }

  /** Delivers what was queued before the call (not what those deliveries send); returns how many ran. */
  pump(): number {
    const batch = this.queue.splice(0, this.queue.length);
    for (const delivery of batch) this.deliver(delivery);
    return batch.length;
  }

  /** Pumps until nothing is queued, at most `roundsMax` times (a ping-pong would otherwise never end). */
  pumpUntilIdle(roundsMax = 1000): void {
    for (let round = 0; round < roundsMax && this.queue.length > 0; round++) this.pump();
  }

  /** @internal */
  isKnown(id: NodeId): boolean {
    return this.transports.has(id);
  }

  /** @internal */
  runningPeers(of: NodeId): NodeId[] {
    return [...this.transports.values()].filter((t) => t.selfId !== of && t.isRunning()).map((t) => t.selfId);
  }

  /** @internal */
  epochOf(id: NodeId): number {
    return this.transports.get(id)?.currentEpoch() ?? 0;
  }

  /** @internal Returns false when the destination's backlog is full. */
  enqueue(delivery: Delivery): boolean {
    if (delivery.kind === "message") {
      const count = this.pendingCount.get(delivery.to) ?? 0;
      if (count >= this.pendingCountMax) return false;
      this.pendingCount.set(delivery.to, count + 1);
    }
    if (this.manual) this.queue.push(delivery);
    else queueMicrotask(() => this.deliver(delivery));
    return true;
  }

  private deliver(delivery: Delivery): void {
    const target = this.transports.get(delivery.to);
    if (delivery.kind === "message") {
      this.pendingCount.set(delivery.to, (this.pendingCount.get(delivery.to) ?? 1) - 1);
      if (target === undefined || !target.isRunning()) {
        delivery.from.dropUndelivered();
        return;
      }
      target.receive(decodeMessage(delivery.bytes));
      return;
    }
    target?.notify(delivery.kind, delivery.peer, delivery.epoch);
  }
}

export class MemoryTransport implements Transport {
  readonly selfId: NodeId;
  private readonly network: MemoryNetwork;
  private readonly handlers: TransportHandlers;
  private readonly counts: MutableCounters = emptyCounters();
  private running = false;
  /** Bumped by every start and stop, so a notification queued before a restart is not delivered after it. */
  private epoch = 0;

  /** Use `MemoryNetwork.createTransport`. */
  constructor(network: MemoryNetwork, selfId: NodeId, handlers: TransportHandlers) {
    this.network = network;
    this.selfId = selfId;
    this.handlers = handlers;
  }

  start(): Promise<void> {
    assert(!this.running, `Transport of node ${this.selfId} is already running`);
    this.running = true;
    this.epoch++;
    this.announce("connected");
    return Promise.resolve();
  }

  stop(): Promise<void> {
    if (!this.running) return Promise.resolve();
    this.announce("disconnected");
    this.running = false;
    this.epoch++;
    return Promise.resolve();
  }

  send(m: Message): void {
    if (!this.running) return countDrop(this.counts, "Unsendable");
    if (m.to === this.selfId || !this.network.isKnown(m.to)) return countDrop(this.counts, "UnknownPeer");
    let bytes: Uint8Array;
    try {
      bytes = encodeMessage(m);
    } catch {
      return countDrop(this.counts, "Unsendable");
    }
    if (!this.network.enqueue({ kind: "message", from: this, to: m.to, bytes })) return countDrop(this.counts, "QueueFull");
    this.counts.messagesSent++;
  }

  counters(): TransportCounters {
    return { ...this.counts };
  }

  /** @internal */
  isRunning(): boolean {
    return this.running;
  }

  /** @internal */
  currentEpoch(): number {
    return this.epoch;
  }

  /** @internal */
  receive(m: Message): void {
    this.counts.messagesReceived++;
    this.handlers.onMessage(m);
  }

  /** @internal A message this node sent found its destination stopped. */
  dropUndelivered(): void {
    countDrop(this.counts, "Unreachable");
  }

  /** @internal */
  notify(kind: "connected" | "disconnected", peer: NodeId, epoch: number): void {
    if (!this.running || epoch !== this.epoch) return;
    if (kind === "connected") this.handlers.onPeerConnected?.(peer);
    else this.handlers.onPeerDisconnected?.(peer);
  }

  /** Tells both ends of every link this node joins or leaves, as TCP connections coming up or closing would. */
  private announce(kind: "connected" | "disconnected"): void {
    for (const peer of this.network.runningPeers(this.selfId)) {
      this.network.enqueue({ kind, to: peer, peer: this.selfId, epoch: this.network.epochOf(peer) });
      if (kind === "connected") this.network.enqueue({ kind, to: this.selfId, peer, epoch: this.epoch });
    }
  }
}
