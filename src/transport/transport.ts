import type { Message, NodeId } from "../raft/types.js";

/** What a transport tells its owner. Callbacks run on the event loop, never inside `send()`. */
export interface TransportHandlers {
  /** A message from a peer, already checked to come from the peer its connection authenticated as. */
  onMessage(m: Message): void;
  /** The first connection with `id` (either direction) came up. */
  onPeerConnected?(id: NodeId): void;
  /**
   * The last connection with `id` went down. A follower may treat it as a hint that the leader died and
   * start a pre-vote at once (DESIGN §5): pre-vote and the lease rule keep this safe.
   */
  onPeerDisconnected?(id: NodeId): void;
}

/** Monotonic counts for metrics. Every message handed to `send()` ends up sent, dropped or still queued. */
export interface TransportCounters {
  /** Messages written to a connection (or handed to the in-memory network). */
  readonly messagesSent: number;
  /** Messages decoded from a peer and handed to `onMessage`. */
  readonly messagesReceived: number;
  /** Every dropped message, whatever the reason (the sum of the `messagesDropped…` counts below). */
  readonly messagesDropped: number;
  /** Dropped because the peer's send queue was full (the oldest queued message goes). */
  readonly messagesDroppedQueueFull: number;
  /** Dropped because the destination is not a known peer (or is this node). */
  readonly messagesDroppedUnknownPeer: number;
  /** Dropped because the peer could not be reached, its connection broke, or the transport stopped with them queued. */
  readonly messagesDroppedUnreachable: number;
  /** Dropped because they could not be sent at all: over the frame bound, not encodable, or the transport not running. */
  readonly messagesDroppedUnsendable: number;
  /** Connection attempts after the first one to a peer. */
  readonly reconnects: number;
  /** Inbound connections closed for bad input: garbage, bad handshake, oversize or truncated frames. */
  readonly connectionsRejected: number;
}

/**
 * Moves Raft messages between controllers. Delivery is best effort and at most once: messages may be
 * lost (Raft retries what matters) but on one connection they arrive in the order sent.
 */
export interface Transport {
  /** Starts accepting connections; resolves once it does. */
  start(): Promise<void>;
  /** Closes every connection and timer; resolves once nothing is left open. No callbacks run after it resolves. */
  stop(): Promise<void>;
  /** Queues `m` for `m.to`. Never throws and never blocks: what cannot be sent is dropped and counted. */
  send(m: Message): void;
  counters(): TransportCounters;
}

export type MutableCounters = { -readonly [K in keyof TransportCounters]: TransportCounters[K] };

export function emptyCounters(): MutableCounters {
  return {
    messagesSent: 0,
    messagesReceived: 0,
    messagesDropped: 0,
    messagesDroppedQueueFull: 0,
    messagesDroppedUnknownPeer: 0,
    messagesDroppedUnreachable: 0,
    messagesDroppedUnsendable: 0,
    reconnects: 0,
    connectionsRejected: 0,
  };
}

export type DropReason = "QueueFull" | "UnknownPeer" | "Unreachable" | "Unsendable";

export function countDrop(counters: MutableCounters, reason: DropReason, count = 1): void {
  counters.messagesDropped += count;
  counters[`messagesDropped${reason}`] += count;
}

/** A pino-compatible logger (`logger.warn({ peer }, "…")`); the transport logs only at info and warn. */
export interface TransportLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export const silentLog: TransportLog = { info: () => {}, warn: () => {} };
